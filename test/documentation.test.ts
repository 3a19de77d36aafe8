import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { codeBlocks, documents } from '../scripts/code-blocks.mjs';
import { OUTBOX_DEFAULTS } from '../src/delivery/outbox.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');
const README = read('README.md');

/** The cells of the README table row whose first cell is `first` (backticks included). */
function readmeRow(first: string): string[] {
  const row = README.split('\n').find((line) => line.startsWith(`| ${first} |`));
  if (!row) throw new Error(`README.md has no table row for ${first}`);
  return row.split(' | ').map((cell) => cell.replace(/^\| |\s*\|$/g, ''));
}

/** The lines of `markdown` outside its fenced code blocks, with their line numbers. */
function proseLines(markdown: string, file: string): Array<{ line: number; text: string }> {
  const fenced = new Set<number>();
  for (const block of codeBlocks(markdown, file)) {
    const length = block.code.split('\n').length;
    for (let i = block.line; i <= block.line + length + 1; i++) fenced.add(i);
  }
  return markdown
    .split('\n')
    .map((text, i) => ({ line: i + 1, text }))
    .filter(({ line }) => !fenced.has(line));
}

/** Whether `version` (x.y.z) satisfies `range`, for the `>=`, `^` and `||` forms package.json uses here. */
function satisfies(version: string, range: string): boolean {
  const parse = (v: string): number[] => v.split('.').map((part) => Number(part));
  const compare = (a: number[], b: number[]): number => {
    for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
    return 0;
  };
  const v = parse(version);
  return range.split('||').some((part) => {
    const [, op, bound] = /^\s*(>=|\^)?\s*([\d.]+)\s*$/.exec(part) ?? [];
    if (bound === undefined) throw new Error(`a range this test cannot read: ${part}`);
    const b = parse(bound);
    if (op === '>=') return compare(v, b) >= 0;
    if (op === '^') return compare(v, b) >= 0 && v[0] === b[0];
    return compare(v, b) === 0;
  });
}

describe('what the user documentation says, against the package', () => {
  it('admits in engines.node only Node.js versions that require() ES modules unflagged, as the README says CommonJS loads it with require()', () => {
    // README.md: "CommonJS loads it with `require()`". Node.js 22.0 to 22.11 (22.11.0 is the first
    // 22 LTS) and all of 21.x throw ERR_REQUIRE_ESM without --experimental-require-module.
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    const flagged = ['21.7.3', '22.0.0', '22.11.0'];
    expect(flagged.filter((version) => satisfies(version, engines))).to.deep.equal([]);
  });

  it('names in the README options table what the outbox needs in a frame besides localStorage and Web Locks', () => {
    // A CIF widget always runs in the Dynamics 365 page's iframe; there the outbox also needs its
    // name, given or from the top page's origin (test/delivery/outbox.test.ts proves the code).
    const [, defaultCell = ''] = readmeRow('`outbox`');
    expect(defaultCell).to.match(/in a frame/).and.to.match(/`name`/);
  });

  it('puts every npm install line of docs/*.md in a fenced block, which scripts/readme.mjs then runs or refuses', () => {
    const inline = documents()
      .filter((file) => file.startsWith('docs/'))
      .flatMap((file) =>
        proseLines(read(file), file)
          .filter(({ text }) => /`npm (?:install|i) [^`]*@/.test(text))
          .map(({ line }) => `${file}:${line}`),
      );
    expect(inline).to.deep.equal([]);
  });

  it('gives in docs/delivery.md the memory of the run bench/README.md shows, within a tenth', () => {
    // The docs round the bench's figures ("about"); bench/README.md holds the run as the bench printed it.
    const bench = read('bench/README.md').split('\n');
    const cells = (first: string): number[] => {
      const row = bench.find((line) => line.startsWith(`| ${first} |`));
      if (!row) throw new Error(`bench/README.md has no row ${first}`);
      return [...row.matchAll(/\| ([\d ]+) (KiB|B) /g)].map(([, n, unit]) => Number(n!.replace(/ /g, '')) * (unit === 'KiB' ? 1024 : 1));
    };
    const [typical, widest] = cells('heap held');
    const [typicalEach, widestEach] = cells('heap held per KPI event');
    const rows = read('docs/delivery.md')
      .split('\n')
      .filter((line) => /^\| (typical|every field)/.test(line))
      .map((line) => [...line.matchAll(/about ([\d.]+) (KB|MB)/g)].map(([, n, unit]) => Number(n) * (unit === 'KB' ? 1e3 : 1e6)));
    const recorded = [
      [typicalEach, typical],
      [widestEach, widest],
    ];
    expect(rows).to.have.length(2);
    rows.forEach((row, i) => row.forEach((said, j) => expect(said / recorded[i]![j]!, `row ${i + 1}, figure ${j + 1}`).to.be.within(0.9, 1.1)));
  });

  it("gives in docs/page-lifecycle.md the calls the default outbox holds of the bench's typical KPI event, as bench/README.md's run stores it", () => {
    const row = read('bench/README.md')
      .split('\n')
      .find((line) => line.startsWith('| outbox: storing and removing each call'));
    const stored = Number(/(\d+) B stored/.exec(row ?? '')?.[1]);
    const [, calls, bytes] = /about ([\d,]+) calls of the bench's typical KPI event, which takes ([\d,]+) B/.exec(read('docs/page-lifecycle.md').replace(/\n\s*/g, ' ')) ?? [];
    const number = (text = '') => Number(text.replace(/,/g, ''));
    expect(number(bytes)).to.equal(stored);
    expect(number(calls) / (OUTBOX_DEFAULTS.maxBytes / stored)).to.be.within(0.99, 1.01);
  });

  it("says in docs/page-lifecycle.md what the outbox costs in Chromium as bench/README.md's run measured it: tens of microseconds a call, tens of milliseconds a batch", () => {
    const bench = read('bench/README.md');
    expect(bench).to.include('### The outbox in Chromium');
    const cell = (first: string, unit: string): number => Number(new RegExp(`^\\| ${first} \\| ([\\d.]+) ?${unit}`, 'm').exec(bench)?.[1]);
    const cost = (read('docs/page-lifecycle.md').split('- **Cost.**')[1] ?? '').split('\n- ')[0]!.replace(/\s+/g, ' ');
    expect(cost).to.include('tens of microseconds a call').and.to.include('runs for tens of milliseconds, where it runs for a few without the outbox');
    expect(cell('outbox over localStorage: storing and removing each call', 'µs')).to.be.at.least(10).and.below(100);
    expect(cell('export\\(\\), outbox on: first slice', 'ms')).to.be.at.least(10).and.below(100);
    expect(cell('export\\(\\), outbox: false: first slice', 'ms')).to.be.at.least(1).and.below(10);
    // "Many times what the rest of an export spends on the call".
    expect(cell('outbox on / outbox: false, first slice', 'x')).to.be.at.least(5);
  });
});
