import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { setTimeout as sleep } from 'node:timers/promises';
import { CifSpanExporter } from '../src/index.js';
import { DEFAULT_OPTIONS } from '../src/options.js';
import { exportOnce, handWrittenCalls } from './floor.js';
import { kib, thousands, type Section } from './report.js';
import { SteppedHost, answeringHost, nextTask } from './workload.js';

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

/** Enough calls to fill any bound a page could afford: past it, the bound is reported as not reached. */
const MAX_BATCHES = 64;

/**
 * The memory the default queue bound lets the exporter hold while the host answers nothing:
 * batches are exported until the bound refuses calls, the heap is read, one more batch is
 * exported and the heap read again. Then the host answers everything.
 */
export async function measureQueueMemory(spans: ReadableSpan[]): Promise<Section> {
  // Compiled code counts in the heap: the exporter's is compiled before the first reading.
  await exportOnce(new CifSpanExporter({ client: answeringHost() }), spans);
  const host = new SteppedHost();
  const exporter = new CifSpanExporter({ client: host });
  const before = await settledHeap();
  let batches = 0;
  while (exporter.getStats().dropped.queue_full === 0 && batches < MAX_BATCHES) {
    exporter.export(spans, () => {});
    batches++;
  }
  const stats = exporter.getStats();
  const held = stats.callsQueued + stats.callsInFlight;
  const full = (await settledHeap()) - before;
  exporter.export(spans, () => {});
  const oneMore = (await settledHeap()) - before;
  while (host.answerOne()) await nextTask();
  await exporter.shutdown();

  const calls = handWrittenCalls(spans);
  const jsonBytes = calls.reduce((sum, call) => sum + JSON.stringify(call.data).length, 0) / calls.length;
  const reached = stats.dropped.queue_full > 0;
  const bound = `maxQueueSize ${DEFAULT_OPTIONS.maxQueueSize} + maxConcurrentCalls ${DEFAULT_OPTIONS.maxConcurrentCalls}`;
  return {
    id: 'memory',
    title: 'Memory the default queue bound allows',
    claim: `The heap the exporter holds, with default options, while the host answers no call and batches of ${thousands(calls.length)} calls keep coming, once the bound refuses calls.`,
    header: ['measure', 'value'],
    rows: [
      ['batches exported until the bound refused calls', reached ? String(batches) : `not reached in ${MAX_BATCHES}`],
      ['calls held (queued + in flight), default bound', `${thousands(held)} (${bound})`],
      ['heap held', kib(full)],
      ['heap held per call held', `${(full / held).toFixed(0)} B (each payload is ${jsonBytes.toFixed(0)} B as JSON)`],
      ['heap held after one more batch', kib(oneMore)],
    ],
    notes: ['Heap above its level before the first export, the lowest of three readings after full collections (`--expose-gc`).'],
    values: { defaults: { ...DEFAULT_OPTIONS }, batches, reached, held, heapBytes: full, heapBytesAfterOneMore: oneMore, payloadJsonBytes: jsonBytes },
  };
}
