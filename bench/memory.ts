import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { setTimeout as sleep } from 'node:timers/promises';
import { CifSpanExporter } from '../src/index.js';
import { BUDGETS } from './budgets.js';
import { median } from './harness.js';
import { kb, thousands, type Section } from './report.js';
import { EXPORTER_OPTIONS, immediateClient } from './spans.js';

const KPI_EVENTS_PER_ROUND = 100_000;
const SWEEP_MILLIS = 10;
/** Rounds that settle compiled code and caches; they are run but not compared. */
const WARM_UP_ROUNDS = 3;

/** Heap in use once everything unreachable has been collected. */
export async function settledHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('memory measurements need `node --expose-gc`; run them through `npm run bench`');
  // V8 sweeps concurrently and heapUsed counts unswept garbage until it has: of a few readings,
  // each after a collection and a pause, the lowest is the heap that is really in use.
  let lowest = Number.POSITIVE_INFINITY;
  for (let reading = 0; reading < 3; reading++) {
    await sleep(SWEEP_MILLIS);
    gc();
    await sleep(SWEEP_MILLIS);
    lowest = Math.min(lowest, process.memoryUsage().heapUsed);
  }
  return lowest;
}

/**
 * One exporter, as a page keeps it all day, exports 100 000 KPI events per round, a batch at a
 * time as a BatchSpanProcessor does; the heap is read after each round and a full collection.
 */
export async function measureHeapGrowth(spans: ReadableSpan[], rounds: number): Promise<Section> {
  const exporter = new CifSpanExporter({ ...EXPORTER_OPTIONS, client: immediateClient() });
  const exportBatch = () =>
    new Promise<void>((resolve, reject) =>
      exporter.export(spans, (result) => (result.code === ExportResultCode.SUCCESS ? resolve() : reject(result.error))),
    );
  const heap: number[] = [];
  let batches = 0;
  for (let round = 0; round < WARM_UP_ROUNDS + rounds; round++) {
    const target = exporter.getStats().kpiEventsSent + KPI_EVENTS_PER_ROUND;
    while (exporter.getStats().kpiEventsSent < target) {
      await exportBatch();
      batches++;
    }
    await exporter.forceFlush();
    if (round >= WARM_UP_ROUNDS) heap.push(await settledHeap());
  }
  const sent = exporter.getStats().kpiEventsSent;
  await exporter.shutdown();

  // Halves compared by their medians: single readings still move by a few hundred KiB as V8
  // recompiles and sweeps, and a leak shows as a shift of the whole second half.
  const half = Math.floor(heap.length / 2);
  const growth = median(heap.slice(-half)) - median(heap.slice(0, half));
  const perRound = batches / (WARM_UP_ROUNDS + rounds);
  return {
    id: 'heapGrowth',
    title: `Heap growth: ${rounds} rounds of ${thousands(KPI_EVENTS_PER_ROUND)} KPI events through one exporter`,
    header: ['measure', 'value'],
    rows: [
      ['KPI events exported, warm-up rounds included', thousands(sent)],
      ['export batches per round', perRound.toFixed(0)],
      ['heap after each measured round, from the first', heap.map((h) => kb(h - heap[0]!)).join(', ')],
      ['growth, median of the last half of the rounds over the first', kb(growth)],
    ],
    notes: [`Read after a full collection (\`--expose-gc\`); ${WARM_UP_ROUNDS} warm-up rounds run first.`],
    values: { kpiEventsPerRound: KPI_EVENTS_PER_ROUND, warmUpRounds: WARM_UP_ROUNDS, kpiEventsSent: sent, heapBytes: heap, growthBytes: growth },
    budgets: [
      {
        name: 'heap growth over repeated rounds',
        rule: `at most ${kb(BUDGETS.heapGrowthBytes)} (noise)`,
        measured: kb(growth),
        holds: growth <= BUDGETS.heapGrowthBytes,
        hint: 'something outlives its export: look at what the exporter and delivery keep between batches (`node --heapsnapshot-signal`)',
      },
    ],
  };
}

