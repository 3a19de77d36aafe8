// Measures the garbage of export() and of its floor in a worker thread of its own (see
// garbage.ts), so that no other contender's garbage shares its heap.
import { Session, type HeapProfiler } from 'node:inspector/promises';
import { PerformanceObserver } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { exportBatch, floorBatch } from './export.js';
import { KPI_EVENTS_PER_SPAN, recordCallSpans } from './spans.js';

/** What the main thread asks for: bytes allocated per KPI event, or the share of time spent collecting. */
export type GarbageProbe = 'allocation' | 'collection';

export interface GarbageResult {
  /** Bytes allocated per KPI event, the mean over the batches measured. */
  exportBytesPerKpiEvent: number;
  floorBytesPerKpiEvent: number;
  /** Share of the time of back-to-back export() calls spent in garbage collection, 0 to 1. */
  exportCollectionShare: number;
}

const BATCHES = 30;
/** Average bytes between two samples; V8 weighs each sample so that the total is unbiased. */
const SAMPLING_INTERVAL_BYTES = 256;
const COLLECTION_BATCHES = 300;
const WARM_UP_BATCHES = 100;

const spans = await recordCallSpans();
const kpiEvents = spans.length * KPI_EVENTS_PER_SPAN;
const runExport = exportBatch(spans);
const runFloor = floorBatch(spans);

/**
 * Bytes allocated over a run of batches, as V8's sampling heap profiler counts them, garbage
 * already collected included: unlike heap readings, this does not depend on when V8 collects.
 */
async function bytesPerKpiEvent(run: () => Promise<void>): Promise<number> {
  for (let i = 0; i < WARM_UP_BATCHES; i++) await run();
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: SAMPLING_INTERVAL_BYTES,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    for (let i = 0; i < BATCHES; i++) await run();
    const { profile } = await session.post('HeapProfiler.stopSampling');
    return totalSize(profile.head) / (BATCHES * kpiEvents);
  } finally {
    session.disconnect();
  }
}

/** Bytes allocated by `node` and every function it called. */
function totalSize(node: HeapProfiler.SamplingHeapProfileNode): number {
  return node.children.reduce((sum, child) => sum + totalSize(child), node.selfSize);
}

/** Time in garbage collection over back-to-back exports, as `PerformanceObserver` reports it. */
async function collectionShare(run: () => Promise<void>): Promise<number> {
  for (let i = 0; i < WARM_UP_BATCHES; i++) await run();
  let collecting = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) collecting += entry.duration;
  });
  observer.observe({ entryTypes: ['gc'] });
  const start = performance.now();
  for (let i = 0; i < COLLECTION_BATCHES; i++) await run();
  const elapsed = performance.now() - start;
  // Entries arrive in a later task.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return collecting / elapsed;
}

const probe = (workerData as { probe: GarbageProbe }).probe;
const result: Partial<GarbageResult> =
  probe === 'allocation'
    ? { exportBytesPerKpiEvent: await bytesPerKpiEvent(runExport), floorBytesPerKpiEvent: await bytesPerKpiEvent(runFloor) }
    : { exportCollectionShare: await collectionShare(runExport) };
parentPort!.postMessage(result);
