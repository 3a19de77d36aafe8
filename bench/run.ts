/**
 * `npm run bench`: the exporter measured like for like, with default options, beside a
 * hand-written floor and the OpenTelemetry exporters; prints Markdown tables with the machine
 * and its load, the targets of issue #22 as met or missed, and writes bench/results.json.
 * Never part of `npm test`: timings depend on the machine and its load.
 *
 * Each step runs in a process of its own (`run.ts <step>`): in one process, the exporters and hosts
 * of one step left the call sites of the next polymorphic and its heap full of their garbage.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { DEFAULT_OPTIONS } from '../src/options.js';
import { measureBrowserOutbox } from './browser.js';
import { measureBundles } from './bundle.js';
import { EXPORT_PROCESSES, exportSection, measureExport, measurePerKpiEvent, type ExportRun } from './export.js';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { checkFloor, checkProvenBatch, type FloorSending } from './floor.js';
import { measureQueueMemory } from './memory.js';
import { formatSection, formatTargets, markdownTable, type Section } from './report.js';
import { measureInstrumentation } from './instrumentation.js';
import { measureSlices } from './slices.js';
import { BATCH_SIZE, recordCallSpans } from './workload.js';

const ROUNDS = { rounds: 5, timeMs: 250 };
const concurrency = DEFAULT_OPTIONS.maxConcurrentCalls;

/** The batch, recorded again in each step's process, and checked to be the one whose floor was proven. */
async function provenSpans(floor: FloorSending): Promise<ReadableSpan[]> {
  const spans = await recordCallSpans();
  checkProvenBatch(spans, floor);
  return spans;
}

/**
 * The steps, each run alone: the proof of the floor (how many calls the exporter makes, and a
 * digest of the proven payloads), then the timed sections.
 */
const STEPS: Record<string, (floor: FloorSending) => Promise<Section | ExportRun | { count: number; payloads: string }>> = {
  floor: async () => checkFloor(await recordCallSpans(), concurrency),
  export: async (floor) => measureExport(await provenSpans(floor), floor, ROUNDS),
  slices: async (floor) => measureSlices(await provenSpans(floor), floor, ROUNDS),
  perKpiEvent: async (floor) => measurePerKpiEvent(await provenSpans(floor), floor.count, ROUNDS),
  browserOutbox: (floor) => measureBrowserOutbox(floor, ROUNDS),
  memory: async (floor) => measureQueueMemory(await provenSpans(floor)),
  instrumentation: () => measureInstrumentation(ROUNDS),
};

/**
 * Runs `step` in a child process and returns what it printed, as JSON. Its young generation holds
 * 64 MB, so that a sample's own garbage does not fill it (see `alternate`).
 */
function runAlone<T>(step: string, floor?: FloorSending): T {
  const args = ['--expose-gc', '--max-semi-space-size=64', '--import', 'tsx', fileURLToPath(import.meta.url), step, JSON.stringify(floor ?? null)];
  return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as T;
}

const [step, floorJson] = process.argv.slice(2);
if (step) {
  const run = STEPS[step];
  if (!run) throw new Error(`no bench step '${step}': ${Object.keys(STEPS).join(', ')}`);
  process.stdout.write(JSON.stringify(await run(JSON.parse(floorJson ?? 'null') as FloorSending)));
} else {
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    /** Load averages over 1, 5 and 15 minutes: other work on the machine skews timings. */
    loadBefore: loadavg(),
    loadAfter: [] as number[],
  };
  const floor: FloorSending = { concurrency, dataFormat: 'object', ...runAlone<{ count: number; payloads: string }>('floor') };
  const sections = Object.keys(STEPS)
    .filter((name) => name !== 'floor')
    .map((name) =>
      name === 'export'
        ? exportSection(Array.from({ length: EXPORT_PROCESSES }, () => runAlone<ExportRun>(name, floor)), BATCH_SIZE, concurrency)
        : runAlone<Section>(name, floor),
    );
  const bundles = await measureBundles();
  sections.push(...bundles.sections);
  machine.loadAfter = loadavg();

  const load = (averages: number[]) => averages.map((l) => l.toFixed(2)).join(', ');
  const targets = [...sections.flatMap((s) => s.targets ?? []), ...bundles.targets];
  console.log(
    `### Machine\n\n${markdownTable(
      ['CPU', 'cores', 'memory', 'Node', 'platform', 'load average (1, 5, 15 min) before', 'after'],
      [[machine.cpu, String(machine.cores), machine.memory, machine.node, machine.platform, load(machine.loadBefore), load(machine.loadAfter)]],
    )}\n`,
  );
  // Only the load as the run starts tells of other work: the bench's own build and Chromium step lift the load after it.
  if (machine.loadBefore[0]! > machine.cores) {
    console.log('The load average was above the number of cores as the run started: other work shared the CPU, and the timings below are not those of a quiet machine.\n');
  }
  for (const section of sections) console.log(`${formatSection(section)}\n`);
  console.log(`### Targets (issue #22)\n\n${formatTargets(targets)}\n`);

  const results = { date: new Date().toISOString(), machine, ...Object.fromEntries(sections.map((s) => [s.id, s.values])), targets };
  writeFileSync(new URL('results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  console.log('Wrote bench/results.json');
}
