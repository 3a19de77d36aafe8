import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { setTimeout as sleep } from 'node:timers/promises';
import { CifSpanExporter } from '../src/index.js';
import { DEFAULT_OPTIONS } from '../src/options.js';
import { handWrittenCalls } from './floor-calls.js';
import { exportOnce } from './floor.js';
import { kib, thousands, type Section } from './report.js';
import { SteppedHost, answeringHost, nextTask, recordCallSpans, recordWidestSpans } from './workload.js';

/** Heap in use once everything unreachable has been collected. */
async function settledHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('memory is measured with `node --expose-gc`; run it through `npm run bench`');
  // V8 sweeps concurrently and heapUsed counts unswept garbage until it has: of a few readings,
  // each after a collection and a pause, the lowest is the heap really in use.
  let lowest = Number.POSITIVE_INFINITY;
  for (let reading = 0; reading < 3; reading++) {
    await sleep(10);
    gc();
    await sleep(10);
    lowest = Math.min(lowest, process.memoryUsage().heapUsed);
  }
  return lowest;
}

/** Enough batches to fill any bound a page could afford: past it, the bound is reported as not reached. */
const MAX_BATCHES = 64;

interface Held {
  batches: number;
  reached: boolean;
  kpiEvents: number;
  heapBytes: number;
  heapBytesAfterOneMore: number;
}

/**
 * Exports fresh batches with default options to a host that answers nothing until the bound
 * refuses calls, each mapped before the next, reads the heap, exports one more batch and reads it again; then the host answers
 * all. Each batch's spans are let go after its export, as a span processor does, so the heap held
 * is the exporter's alone, the strings its calls share with the spans included.
 */
async function fillDefaultBound(batch: () => Promise<ReadableSpan[]>): Promise<Held> {
  // Compiled code counts in the heap: the exporter's is compiled before the first reading.
  await exportOnce(new CifSpanExporter({ client: answeringHost() }), await batch());
  const host = new SteppedHost();
  const exporter = new CifSpanExporter({ client: host });
  const before = await settledHeap();
  let batches = 0;
  /** Exports a fresh batch and runs the page's tasks until it is mapped, a part a task, as a page runs them between its exports. */
  const exportMapped = async () => {
    const spans = await batch();
    const seen = exporter.getStats().spansSeen + spans.length;
    exporter.export(spans, () => {});
    while (exporter.getStats().spansSeen < seen) await nextTask();
  };
  while (exporter.getStats().dropped.queue_full === 0 && batches < MAX_BATCHES) {
    await exportMapped();
    batches++;
  }
  const stats = exporter.getStats();
  const heapBytes = (await settledHeap()) - before;
  await exportMapped();
  const heapBytesAfterOneMore = (await settledHeap()) - before;
  while (host.answerOne()) await nextTask();
  await exporter.shutdown();
  return { batches, reached: stats.dropped.queue_full > 0, kpiEvents: stats.kpiEventsPending, heapBytes, heapBytesAfterOneMore };
}

/**
 * The memory the default queue bound (`maxQueueSize` KPI events pending, in flight included)
 * lets the exporter hold while the host answers nothing: with the bench's typical KPI events, and
 * with the largest the mapping sends, every field at its column size in two-byte text.
 */
export async function measureQueueMemory(spans: ReadableSpan[]): Promise<Section> {
  const typical = await fillDefaultBound(() => recordCallSpans(spans.length));
  const widest = await fillDefaultBound(() => recordWidestSpans());
  const calls = handWrittenCalls(spans);
  const jsonBytes = calls.reduce((sum, call) => sum + JSON.stringify(call.data).length, 0) / calls.length;
  const column = (held: Held): string[] => [
    held.reached ? String(held.batches) : `not reached in ${MAX_BATCHES}`,
    thousands(held.kpiEvents),
    kib(held.heapBytes),
    `${(held.heapBytes / held.kpiEvents).toFixed(0)} B`,
    kib(held.heapBytesAfterOneMore),
  ];
  const [t, w] = [column(typical), column(widest)];
  const labels = ['batches exported until the bound refused calls', 'KPI events held (pending)', 'heap held', 'heap held per KPI event', 'heap held after one more batch'];
  return {
    id: 'memory',
    title: 'Memory the default queue bound allows',
    claim: `The heap the exporter holds with default options (maxQueueSize ${thousands(DEFAULT_OPTIONS.maxQueueSize)} KPI events), while the host answers no call and batches keep coming, once the bound refuses calls.`,
    header: ['measure', `typical KPI events (${jsonBytes.toFixed(0)} B as JSON)`, 'largest KPI events (every field at its column size, two-byte text)'],
    rows: labels.map((label, i) => [label, t[i]!, w[i]!]),
    notes: ['Heap above its level before the first export, the lowest of three readings after full collections (`--expose-gc`).'],
    values: { maxQueueSize: DEFAULT_OPTIONS.maxQueueSize, typical, widest, payloadJsonBytes: jsonBytes },
  };
}
