/**
 * `npm run bench`: measures the exporter beside the OpenTelemetry exporters in one process,
 * prints Markdown tables with the machine, writes bench/results.json, and exits non-zero when a
 * budget is missed. Not part of `npm test`: timings depend on the machine and its load.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { measureBundles } from './bundle.js';
import { measureExport } from './export.js';
import { measureGarbage } from './garbage.js';
import { measureMapping } from './mapping.js';
import { measureHeapGrowth } from './memory.js';
import { formatBudgets, formatSection, type Section } from './report.js';
import { recordCallSpans } from './spans.js';
import { measureStalledHost } from './stalled-host.js';

const ROUNDS = 7;
const TIME_PER_ROUND_MS = 200;

/** Run in this order, one at a time; each returns its table, values and budgets. */
const MEASUREMENTS: ReadonlyArray<(spans: ReadableSpan[]) => Promise<Section>> = [
  (spans) => measureMapping(spans, ROUNDS, TIME_PER_ROUND_MS),
  (spans) => measureExport(spans, ROUNDS, TIME_PER_ROUND_MS),
  () => measureGarbage(),
  () => measureBundles(),
  (spans) => measureHeapGrowth(spans, 6),
  (spans) => measureStalledHost(spans),
  () => import('./instrumentation.js').then((m) => m.measureInstrumentation()),
];

const machine = {
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: availableParallelism(),
  platform: `${process.platform} ${process.arch}`,
  /** One-minute load average before and after the run: other work on the machine skews timings. */
  load: { before: loadavg()[0]!, after: 0 },
};

const spans = await recordCallSpans();
const sections: Section[] = [];
for (const measure of MEASUREMENTS) sections.push(await measure(spans));
const budgets = sections.flatMap((s) => s.budgets);
machine.load.after = loadavg()[0]!;

console.log(
  `Node ${machine.node}, ${machine.cpu}, ${machine.cores} cores, ${machine.platform}, ` +
    `load average (1 min) ${machine.load.before.toFixed(2)} before, ${machine.load.after.toFixed(2)} after\n`,
);
for (const section of sections) console.log(`${formatSection(section)}\n`);
console.log(`### Budgets\n\n${formatBudgets(budgets)}\n`);

const results = { date: new Date().toISOString(), machine, ...Object.fromEntries(sections.map((s) => [s.id, s.values])), budgets };
writeFileSync(new URL('results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
console.log('Wrote bench/results.json');

for (const b of budgets.filter((b) => !b.holds && b.enforced === false)) {
  console.log(`Target not met (reported, not enforced): ${b.name}: ${b.rule}, measured ${b.measured}.`);
}
const missed = budgets.filter((b) => !b.holds && b.enforced !== false);
if (missed.length > 0) {
  for (const b of missed) console.error(`Budget missed: ${b.name}: ${b.rule}, measured ${b.measured}. ${b.hint}.`);
  process.exitCode = 1;
} else {
  console.log(`All ${budgets.filter((b) => b.enforced !== false).length} enforced budgets hold.`);
}
