import { BUDGETS } from './budgets.js';
import type { Section } from './report.js';
import type { GarbageProbe, GarbageResult } from './garbage-worker.js';
import { startWorker } from './worker-runner.js';

/** Runs one probe in a worker thread of its own, with its own V8 heap. */
function runProbe(probe: GarbageProbe): Promise<Partial<GarbageResult>> {
  const worker = startWorker(new URL('./garbage-worker.ts', import.meta.url), { probe });
  return new Promise((resolve, reject) => {
    worker.once('message', (result: Partial<GarbageResult>) => void worker.terminate().then(() => resolve(result)));
    worker.once('error', reject);
  });
}

/**
 * What `export()` leaves for the garbage collector, beside its floor: bytes allocated per KPI
 * event, and the share of its time V8 spends collecting when batches follow one another.
 */
export async function measureGarbage(): Promise<Section> {
  const { exportBytesPerKpiEvent: exportBytes, floorBytesPerKpiEvent: floorBytes } = await runProbe('allocation');
  const { exportCollectionShare: share } = await runProbe('collection');
  const engineBytes = exportBytes! - floorBytes!;
  return {
    id: 'garbage',
    title: 'Garbage: what export() allocates, 512-span batch, host answering at once',
    header: ['measure', 'value'],
    rows: [
      ['bytes allocated per KPI event, export() to callback', `${exportBytes!.toFixed(0)} B`],
      ['bytes allocated per KPI event, floor (mapping + bare client calls + Promise.all)', `${floorBytes!.toFixed(0)} B`],
      ['the engine\'s share: export() over its floor', `${engineBytes.toFixed(0)} B`],
      ['time in garbage collection, back-to-back export() calls', `${(share! * 100).toFixed(1)}%`],
    ],
    notes: [
      "Each probe runs in a worker thread of its own, after 100 batches of warm-up. Bytes are counted by V8's sampling heap profiler over 30 batches, garbage already collected included; the time share is over 300 batches.",
    ],
    values: { exportBytesPerKpiEvent: exportBytes, floorBytesPerKpiEvent: floorBytes, engineBytesPerKpiEvent: engineBytes, exportCollectionShare: share },
    budgets: [
      {
        name: 'export() garbage beyond its floor',
        rule: `at most ${BUDGETS.engineGarbageBytesPerKpiEvent} B per KPI event`,
        measured: `${engineBytes.toFixed(0)} B`,
        holds: engineBytes <= BUDGETS.engineGarbageBytesPerKpiEvent,
        hint: 'the engine allocates more per call than the call itself: look for objects made per call in src/delivery/engine.ts',
      },
    ],
  };
}
