import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { CifSpanExporter } from '../src/index.js';
import { BUDGETS } from './budgets.js';
import { settledHeap } from './memory.js';
import { kb, thousands, type Section } from './report.js';

const BATCHES = 30;
const MAX_QUEUE_SIZE = 1000;
const MAX_CONCURRENT_CALLS = 8;

/**
 * A host that never answers, and a widget that keeps exporting: the queue fills with the first
 * batch, and every later call is dropped as `queue_full`. The heap must stop growing once the
 * queue is full, and `shutdown()` must still resolve.
 */
export async function measureStalledHost(spans: ReadableSpan[]): Promise<Section> {
  const exporter = new CifSpanExporter({
    customAttributes: { 'call.queue': 'msdyn_customattribute2' },
    client: { logAnalyticsEvent: () => new Promise<string>(() => {}) },
    maxQueueSize: MAX_QUEUE_SIZE,
    maxConcurrentCalls: MAX_CONCURRENT_CALLS,
    // Long enough that nothing times out while batches arrive; it also bounds shutdown().
    timeoutMillis: 2_000,
  });
  let callbacks = 0;
  const base = await settledHeap();
  const heap: number[] = [];
  for (let batch = 0; batch < BATCHES; batch++) {
    exporter.export(spans, (result) => {
      callbacks++;
      if (result.code !== ExportResultCode.FAILED) throw new Error('a stalled host cannot succeed');
    });
    heap.push((await settledHeap()) - base);
  }
  const stats = exporter.getStats();
  const started = Date.now();
  await exporter.shutdown();
  const shutdownMillis = Date.now() - started;

  const full = heap[0]!;
  const peak = Math.max(...heap);
  const held = stats.callsQueued + stats.callsInFlight;
  return {
    id: 'stalledHost',
    title: `Stalled host: ${BATCHES} batches of ${thousands(spans.length * 4)} calls to a host that never answers`,
    header: ['measure', 'value'],
    rows: [
      ['calls offered', thousands(stats.kpiEventsSent)],
      ['calls held (queued + in flight), bound', `${thousands(held)}, ${thousands(MAX_QUEUE_SIZE + MAX_CONCURRENT_CALLS)}`],
      ['dropped as queue_full', thousands(stats.dropped.queue_full)],
      ['heap once the queue is full (after the first batch)', kb(full)],
      ['heap per call held', `${(full / held).toFixed(0)} B`],
      ['peak heap over all batches', kb(peak)],
      ['shutdown() resolved after', `${shutdownMillis} ms`],
    ],
    notes: ['Heap above the level before the first export, read after a full collection (`--expose-gc`).'],
    values: { batches: BATCHES, held, droppedQueueFull: stats.dropped.queue_full, heapBytes: heap, peakBytes: peak, shutdownMillis, callbacks },
    budgets: [
      {
        name: 'stalled-host peak within the queue bound',
        rule: `calls held at most the bound; peak heap at most ${BUDGETS.stalledPeakOverFullQueue}x the full queue's`,
        measured: `${thousands(held)} calls; ${kb(peak)} vs ${kb(full)}`,
        holds: held <= MAX_QUEUE_SIZE + MAX_CONCURRENT_CALLS && peak <= full * BUDGETS.stalledPeakOverFullQueue,
        hint: 'something kept per call offered while the queue is full: look at what delivery holds for dropped calls',
      },
    ],
  };
}
