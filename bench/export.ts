import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { CifSpanExporter, type CifAnalyticsClient } from '../src/index.js';
import { TARGETS } from './budgets.js';
import { handWrittenCalls } from './floor-calls.js';
import { checkDelivered, exportOnce, sendCalls, type FloorSending } from './floor.js';
import { alternate, median, medianRatio, type Rounds } from './harness.js';
import { grantingLocks, memoryStore, outboxCosts } from './outbox.js';
import { ms, ratioTarget, thousands, times, type Section } from './report.js';
import { KPI_EVENTS_PER_SPAN, answeringHost, copyingHost } from './workload.js';

const EXPORT = 'export(), host answering at once';
const FLOOR = 'floor, host answering at once';
const EXPORT_COPIED = "export(), dataFormat 'object', host copying each payload";
const EXPORT_JSON = "export(), dataFormat 'json', host copying each string";
const OTLP = 'OTLP JsonTraceSerializer.serializeRequest (request built, JSON.stringify, TextEncoder)';

/** The exporters timed in this process, each checked after timing to have delivered every call (`checkDelivered`). */
const timed: Array<[CifSpanExporter, string]> = [];

/** `export()` of the batch to its callback, through one exporter with default options, as a page keeps it. */
function exporting(spans: ReadableSpan[], client: CifAnalyticsClient, dataFormat?: 'json'): () => Promise<unknown> {
  const exporter = new CifSpanExporter(dataFormat ? { client, dataFormat } : { client });
  timed.push([exporter, dataFormat ?? 'object']);
  return () => exportOnce(exporter, spans);
}

function checkTimed(count: number): void {
  for (const [exporter, name] of timed.splice(0)) checkDelivered(exporter, count, `export(), ${name}`);
}

/** What one process measured of `export()` against the floor. */
export interface ExportRun {
  kpiEvents: number;
  callsMade: number;
  exportMs: number;
  floorMs: number;
  exportOverFloor: number;
}

/**
 * How many processes the `export` step runs in, one after another. On a shared machine one
 * process's ratio moved between about 4x and 11x for the same code, as the machine's speed moved
 * (the floor, a tenth of the work, slowed less than `export()`); the headline is the median of the processes'.
 */
export const EXPORT_PROCESSES = 5;

/**
 * `export()` against the hand-written floor in this process, the two alone in their rounds: timed beside other
 * contenders in one heap, the floor ran several times slower in a trial run, as their garbage changed how V8 collected.
 */
export async function measureExport(spans: ReadableSpan[], floor: FloorSending, rounds: Rounds): Promise<ExportRun> {
  const host = answeringHost();
  const medians = await alternate(
    [
      { name: EXPORT, fn: exporting(spans, answeringHost()) },
      { name: FLOOR, fn: () => sendCalls(host, handWrittenCalls(spans), floor) },
    ],
    rounds,
  );
  checkTimed(floor.count);
  return {
    kpiEvents: spans.length * KPI_EVENTS_PER_SPAN,
    callsMade: floor.count,
    exportMs: median(medians.get(EXPORT)!),
    floorMs: median(medians.get(FLOOR)!),
    exportOverFloor: medianRatio(medians.get(EXPORT)!, medians.get(FLOOR)!),
  };
}

/** The table of `export()` against the floor: each figure the median over the processes that measured it, the ratio with their range. */
export function exportSection(runs: readonly ExportRun[], spanCount: number, concurrency: number): Section {
  const { kpiEvents, callsMade } = runs[0]!;
  const of = (key: 'exportMs' | 'floorMs' | 'exportOverFloor') => median(runs.map((run) => run[key]));
  const ratios = runs.map((run) => run.exportOverFloor);
  const overFloor = of('exportOverFloor');
  const dropped = kpiEvents - callsMade;
  return {
    id: 'export',
    title: `export() against a hand-written floor: ${spanCount} spans, ${thousands(kpiEvents)} KPI events`,
    claim: `\`export()\` to its callback against the floor: a mapper written by hand for these spans that builds the same payloads (checked deep-equal, every call) and calls the host once per payload, ${concurrency} at a time as the exporter does; the host answers at once. Each figure is the median over ${runs.length} processes.`,
    header: ['contender', 'median per batch'],
    rows: [
      [EXPORT, ms(of('exportMs'))],
      [FLOOR, ms(of('floorMs'))],
      ['export() / floor', `${times(overFloor)} (median of the processes' ratios, each the median of its rounds'; from ${times(Math.min(...ratios))} to ${times(Math.max(...ratios))})`],
    ],
    notes: [
      dropped > 0
        ? `With default options the queue bound admits ${thousands(callsMade)} of the batch's ${thousands(kpiEvents)} calls and drops ${thousands(dropped)} (queue_full): the export() rows cover the calls it makes, and the floor makes the same ${thousands(callsMade)}.`
        : `With default options every one of the batch's ${thousands(kpiEvents)} calls is made.`,
    ],
    values: { kpiEvents, callsMade, exportMs: of('exportMs'), floorMs: of('floorMs'), exportOverFloor: overFloor, processes: runs },
    targets: [ratioTarget('export() against the floor', overFloor, TARGETS.exportOverFloor, 'the floor')],
  };
}

/** The whole main-thread cost per KPI event, the host's copy included, beside OTLP's serialize-and-encode. */
export async function measurePerKpiEvent(spans: ReadableSpan[], callsMade: number, rounds: Rounds): Promise<Section> {
  if (JsonTraceSerializer.serializeRequest(spans)?.length === 0) throw new Error('the OTLP serializer wrote nothing');
  const medians = await alternate(
    [
      { name: EXPORT_COPIED, fn: exporting(spans, copyingHost()) },
      { name: EXPORT_JSON, fn: exporting(spans, copyingHost(), 'json') },
      { name: OTLP, fn: () => JsonTraceSerializer.serializeRequest(spans) },
    ],
    rounds,
  );
  checkTimed(callsMade);
  const kpiEvents = spans.length * KPI_EVENTS_PER_SPAN;
  const of = (name: string) => median(medians.get(name)!);
  const perKpiEvent = (name: string) => [name, ms(of(name)), `${((of(name) * 1000) / kpiEvents).toFixed(2)} µs`];
  const otlpOver = (name: string) => medianRatio(medians.get(OTLP)!, medians.get(name)!);
  // Node has no outbox (no page), so the export() rows leave it out, though default options turn it on in a page; its own cost, over an in-memory stand-in (the browser step times localStorage).
  const STAND_IN = 'outbox over an in-memory stand-in';
  const { microseconds, storedBytes } = (await outboxCosts(handWrittenCalls(spans), [{ name: STAND_IN, store: memoryStore(), locks: grantingLocks }], rounds)).get(STAND_IN)!;
  const outbox = { microseconds, storedBytes };
  return {
    id: 'perKpiEvent',
    title: `Main-thread cost per KPI event, the host's copy included, against OTLP: ${spans.length} spans, ${thousands(kpiEvents)} KPI events`,
    claim:
      "The whole main-thread cost of sending the batch, the host's copy of each payload included (`structuredClone` per call, a stand-in for the copy the CIF library's messaging to the host page makes; for `dataFormat: 'json'`, `JSON.stringify` then the copy of the string), against the OTLP HTTP exporter's serialize-and-encode of the same spans: its JSON serializer, the one it uses in the browser, which builds the OTLP request and encodes it; the sending that follows is not counted, nor, on either side, the collection of what a sample allocated (the young generation is emptied before each sample, outside its time).",
    header: ['contender', 'median per batch', 'per KPI event', 'OTLP / this'],
    rows: [
      [...perKpiEvent(EXPORT_COPIED), times(otlpOver(EXPORT_COPIED))],
      [...perKpiEvent(EXPORT_JSON), times(otlpOver(EXPORT_JSON))],
      [...perKpiEvent(OTLP), ''],
      [
        'outbox over an in-memory stand-in, in none of the rows above: storing and removing each call, bytes stored',
        '',
        `${outbox.microseconds.toFixed(2)} µs, ${outbox.storedBytes} B stored`,
        '',
      ],
    ],
    notes: [
      `Per KPI event: the batch's time over its ${thousands(kpiEvents)} KPI events. OTLP / this: the median of the rounds' ratios.`,
      "In Node the default options give no outbox, so the export() rows are those of `outbox: false`; in a page the default outbox stores each call not handed to the host in the task that admits it: the Chromium table times the whole batch with it.",
      ...(callsMade < kpiEvents ? [`The export() rows copy the ${thousands(callsMade)} calls the default queue admits, not all ${thousands(kpiEvents)}.`] : []),
    ],
    values: {
      exportCopiedMs: of(EXPORT_COPIED),
      exportJsonMs: of(EXPORT_JSON),
      otlpMs: of(OTLP),
      otlpOverExportCopied: otlpOver(EXPORT_COPIED),
      otlpOverExportJson: otlpOver(EXPORT_JSON),
      outbox,
    },
  };
}
