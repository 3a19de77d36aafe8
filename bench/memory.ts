import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { setTimeout as sleep } from 'node:timers/promises';
import { CifSpanExporter } from '../src/index.js';
import { DEFAULT_OPTIONS } from '../src/options.js';
import { handWrittenCalls } from './floor.js';
import { kib, thousands, type Section } from './report.js';
import { SteppedHost, nextTask } from './workload.js';

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

/**
 * The memory the default queue bound lets the exporter hold while the host does not answer:
 * batches are exported to a host that answers nothing until they are all in, with the heap read
 * before, after the first batch and after the last. Then the host answers everything.
 */
export async function measureQueueMemory(spans: ReadableSpan[], batches = 3): Promise<Section> {
  const host = new SteppedHost();
  const exporter = new CifSpanExporter({ client: host });
  const before = await settledHeap();
  const heap: number[] = [];
  for (let batch = 0; batch < batches; batch++) {
    exporter.export(spans, () => {});
    heap.push((await settledHeap()) - before);
  }
  const stats = exporter.getStats();
  const held = stats.callsQueued + stats.callsInFlight;
  while (host.answerOne()) await nextTask();
  await exporter.shutdown();

  const calls = handWrittenCalls(spans);
  const jsonBytes = calls.reduce((sum, call) => sum + JSON.stringify(call.data).length, 0) / calls.length;
  const [first, last] = [heap[0]!, heap.at(-1)!];
  const bound = `maxQueueSize ${DEFAULT_OPTIONS.maxQueueSize} + maxConcurrentCalls ${DEFAULT_OPTIONS.maxConcurrentCalls}`;
  return {
    id: 'memory',
    title: 'Memory the default queue bound allows',
    claim: `The heap the exporter holds, with default options, while the host answers no call: ${batches} batches of ${thousands(calls.length)} calls exported one after another.`,
    header: ['measure', 'value'],
    rows: [
      ['calls held (queued + in flight), default bound', `${thousands(held)} (${bound})`],
      ['calls dropped as queue_full', thousands(stats.dropped.queue_full)],
      ['heap held after the first batch', kib(first)],
      ['heap held per call held', `${(first / held).toFixed(0)} B (each payload is ${jsonBytes.toFixed(0)} B as JSON)`],
      [`heap held after batch ${batches}`, kib(last)],
    ],
    notes: ['Heap above its level before the first export, the lowest of three readings after full collections (`--expose-gc`).'],
    values: { held, defaults: { ...DEFAULT_OPTIONS }, droppedQueueFull: stats.dropped.queue_full, heapBytes: heap, payloadJsonBytes: jsonBytes },
  };
}
