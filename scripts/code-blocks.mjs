// The fenced code blocks of README.md and docs/*.md, each with the marker comment on the line
// before it (`<!-- check: types -->`) that says how CI proves it: scripts/readme.mjs checks that
// every block has one it knows, and proves them; test/browser/script-tag.e2e.ts runs `script-tag` blocks.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const MARKER = /^<!-- check: ([\w -]+) -->$/;

/** The Markdown files whose code blocks CI proves: the README and every page of docs/. */
export function documents() {
  const docs = readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md'));
  return ['README.md', ...docs.sort().map((name) => `docs/${name}`)];
}

/** The fenced code blocks of `markdown` (the text of `file`), each with its marker words (if any) and its line. */
export function codeBlocks(markdown, file) {
  const lines = markdown.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    // Indented too: a block inside a list item is proven like any other.
    const open = /^( *)```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, lang] = open;
    const end = lines.indexOf(`${indent}\`\`\``, i + 1);
    let before = i - 1;
    while (before >= 0 && lines[before].trim() === '') before--;
    const marker = MARKER.exec(lines[before]?.trim() ?? '')?.[1].trim().split(/\s+/) ?? [];
    const code = lines.slice(i + 1, end).map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line));
    blocks.push({ file, line: i + 1, lang, code: code.join('\n'), marker });
    i = end;
  }
  return blocks;
}

/** Every code block of the README and docs/, in that order. */
export function documentedBlocks() {
  return documents().flatMap((file) => codeBlocks(readFileSync(join(root, file), 'utf8'), file));
}
