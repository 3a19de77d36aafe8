/** A fenced code block of README.md or docs/*.md. */
export interface CodeBlock {
  /** The Markdown file, relative to the repository: `README.md`, `docs/browser.md`. */
  file: string;
  /** The line of the opening fence, from 1. */
  line: number;
  /** The fence's language (`ts`, `html`, `sh`), or empty. */
  lang: string;
  code: string;
  /** The words of the `<!-- check: ... -->` marker before the block; empty without one. */
  marker: string[];
}

export function documents(): string[];
export function codeBlocks(markdown: string, file: string): CodeBlock[];
export function documentedBlocks(): CodeBlock[];
