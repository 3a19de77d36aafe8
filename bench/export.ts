import { ExportResultCode } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { CifSpanExporter } from '../src/index.js';
import { normalizeOptions } from '../src/options.js';
import { createSpanMappingStats, spansToCalls } from '../src/mapping/spans.js';
import { BUDGETS } from './budgets.js';
import { alternate, bestRatio, inThisThread, median, medianRatio, quantile } from './harness.js';
import { atMostBudget, fasterBudget, ms, times, type Section } from './report.js';
import { EXPORTER_OPTIONS, immediateClient } from './spans.js';

const EXPORT = 'export() to callback';
const OTLP = 'OTLP JsonTraceSerializer.serializeRequest (anchor)';
const FLOOR = 'mapping + bare client calls + Promise.all (floor)';

/** `export()` of the batch until its callback, through one exporter; it rejects when a call failed. */
export function exportBatch(spans: ReadableSpan[]): () => Promise<void> {
  const exporter = new CifSpanExporter({ ...EXPORTER_OPTIONS, client: immediateClient() });
  return () =>
    new Promise<void>((resolve, reject) =>
      exporter.export(spans, (result) => (result.code === ExportResultCode.SUCCESS ? resolve() : reject(result.error))),
    );
}

/** The least any export of these calls does: map, call the host once per call, wait for every answer. */
export function floorBatch(spans: ReadableSpan[]): () => Promise<void> {
  const options = normalizeOptions(EXPORTER_OPTIONS);
  const client = immediateClient();
  return async () => {
    const calls = spansToCalls(spans, options, createSpanMappingStats());
    await Promise.all(calls.map((c) => client.logAnalyticsEvent(c.data, c.eventName, c.correlationId)));
    if (calls.length === 0) throw new Error('the floor made no calls');
  };
}

/**
 * `export()` of one batch until its callback, with a host that answers at once, beside the OTLP
 * serializer on the same spans and beside the least any export can do: map, call the host for
 * each call, wait for every answer. All three share this thread and its heap, as on a page.
 */
export async function measureExport(spans: ReadableSpan[], rounds: number, timeMs: number): Promise<Section> {
  let checksum = 0;
  const timings = await alternate(
    [
      { name: EXPORT, fn: exportBatch(spans) },
      { name: OTLP, fn: () => (checksum += JsonTraceSerializer.serializeRequest(spans)?.length ?? 0) },
      { name: FLOOR, fn: floorBatch(spans) },
    ].map(inThisThread),
    { rounds, timeMs },
  );
  if (checksum === 0) throw new Error('the OTLP serializer wrote nothing');

  const exportTiming = timings.get(EXPORT)!;
  const otlpTiming = timings.get(OTLP)!;
  const floorTiming = timings.get(FLOOR)!;
  const p50 = median(exportTiming.samples);
  const p99 = quantile(exportTiming.samples, 0.99);
  const tail = p99 / p50;
  const floorTail = quantile(floorTiming.samples, 0.99) / median(floorTiming.samples);
  const speedup = medianRatio(otlpTiming, exportTiming);
  const bestSpeedup = bestRatio(otlpTiming, exportTiming);
  const overFloor = medianRatio(exportTiming, floorTiming);
  const bestOverFloor = bestRatio(exportTiming, floorTiming);
  return {
    id: 'export',
    title: `Export: ${spans.length}-span batch, one call per KPI event, host answering at once`,
    header: ['measure', 'value'],
    rows: [
      ['median, export() to callback', ms(p50)],
      ['p99, export() to callback', ms(p99)],
      ['p99 / median', times(tail)],
      ['median, OTLP JsonTraceSerializer.serializeRequest', ms(median(otlpTiming.samples))],
      ['median, floor (mapping + bare client calls + Promise.all)', ms(median(floorTiming.samples))],
      ['p99 / median, floor', times(floorTail)],
      ['OTLP / export', `${times(speedup)} (median of rounds), ${times(bestSpeedup)} (best rounds)`],
      ['export / floor', `${times(overFloor)} (median of rounds), ${times(bestOverFloor)} (best rounds)`],
      ['samples', String(exportTiming.samples.length)],
    ],
    notes: [
      `The three contenders take turns in this thread, ${rounds} measured rounds; ratios are the median of each round's ratio, and budgets use them.`,
    ],
    values: {
      spans: spans.length,
      samples: exportTiming.samples.length,
      medianMs: p50,
      p99Ms: p99,
      p99OverMedian: tail,
      otlpMedianMs: median(otlpTiming.samples),
      floorMedianMs: median(floorTiming.samples),
      floorP99OverMedian: floorTail,
      otlpOverExport: speedup,
      bestOtlpOverExport: bestSpeedup,
      exportOverFloor: overFloor,
      bestExportOverFloor: bestOverFloor,
    },
    budgets: [
      fasterBudget(
        'export() vs OTLP JSON serializer',
        speedup,
        BUDGETS.exportSpeedupOverOtlp,
        'profile with `node --cpu-prof --import tsx bench/run.ts` and look at src/delivery/engine.ts',
      ),
      atMostBudget(
        'export() vs its floor',
        overFloor,
        BUDGETS.exportOverFloor,
        'the engine costs more per call than the call itself; look for allocations per call in src/delivery/engine.ts',
      ),
      {
        // A target, not enforced: the floor, which builds the same payloads, misses it too.
        ...atMostBudget(
          'export() tail',
          tail,
          BUDGETS.exportP99OverMedian,
          'long pauses: look for garbage collection with `node --trace-gc`',
          `p99 at most ${BUDGETS.exportP99OverMedian}x the median (target)`,
        ),
        measured: `${times(tail)} (the floor: ${times(floorTail)})`,
        enforced: false,
      },
    ],
  };
}
