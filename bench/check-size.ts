/**
 * `npm run check:size`, part of `npm test`: the main entry's size against its gate, a ratchet
 * (bench/budgets.ts). Sizes do not depend on the machine, so they may gate; timings never do.
 */
import { MAIN_ENTRY_GZIP_GATE } from './budgets.js';
import { measureBundles } from './bundle.js';
import { formatSection, thousands } from './report.js';

const { sections, mainEntryGzipBytes: bytes } = await measureBundles();
console.log(`${formatSection(sections[0]!)}\n`);
if (bytes > MAIN_ENTRY_GZIP_GATE) {
  console.error(`Size gate missed: the main entry is ${thousands(bytes)} B min+gzip, over its ${thousands(MAIN_ENTRY_GZIP_GATE)} B (bench/budgets.ts). Win the bytes back; \`npm run bench\` shows where they go.`);
  process.exitCode = 1;
} else if (bytes < MAIN_ENTRY_GZIP_GATE) {
  console.log(`The main entry shrank to ${thousands(bytes)} B: lower MAIN_ENTRY_GZIP_GATE in bench/budgets.ts to it.`);
} else {
  console.log(`The main entry is ${thousands(bytes)} B min+gzip, at its gate.`);
}
