import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { normalizeOptions } from '../src/options.js';
import  { createSpanMappingStats } from '../src/mapping/spans.js';
import { spansToCalls } from '../src/mapping/spans.js';
import { BUDGETS } from './budgets.js';
import { alternate, bestRatio, median, medianRatio } from './harness.js';
import { inWorker } from './worker-runner.js';
import { atMostBudget, fasterBudget, ms, thousands, times, type Section } from './report.js';
import { EXPORTER_OPTIONS } from './spans.js';

export const CIF_MAPPING = 'CIF mapping (spansToCalls)';
export const CIF_MAPPING_JSON = 'CIF mapping + JSON.stringify of each payload';
export const OTLP_JSON = 'OTLP JsonTraceSerializer.serializeRequest';
export const JSON_FLOOR = 'JSON.stringify of the built payloads (floor)';
const CONTENDERS = [CIF_MAPPING, CIF_MAPPING_JSON, OTLP_JSON, JSON_FLOOR];

/** The same spans through this exporter's mapping and through the OTLP JSON serializer, alternating. */
export async function measureMapping(spans: ReadableSpan[], rounds: number, timeMs: number): Promise<Section> {
  const builtCalls = spansToCalls(spans, normalizeOptions(EXPORTER_OPTIONS), createSpanMappingStats());
  // Each contender in a worker of its own: sharing one heap, the OTLP serializer's garbage made
  // V8 place the mapping's objects in old space and slowed it by up to 4x, depending on the order.
  const runners = CONTENDERS.map((name) => inWorker(name, new URL('./mapping-worker.ts', import.meta.url)));
  let timings;
  try {
    timings = await alternate(runners, { rounds, timeMs });
  } finally {
    await Promise.all(runners.map((r) => r.close()));
  }

  const timing = (name: string) => timings.get(name)!;
  const speedup = medianRatio(timing(OTLP_JSON), timing(CIF_MAPPING));
  const overFloor = medianRatio(timing(CIF_MAPPING_JSON), timing(JSON_FLOOR));
  const bestSpeedup = bestRatio(timing(OTLP_JSON), timing(CIF_MAPPING));
  const bestOverFloor = bestRatio(timing(CIF_MAPPING_JSON), timing(JSON_FLOOR));
  const rows = CONTENDERS.map((name) => {
    const medianMs = median(timing(name).roundMedians);
    return { name, medianMs, spansPerSecond: (spans.length / medianMs) * 1000 };
  });
  return {
    id: 'mapping',
    title: `Mapping: ${spans.length} SDK spans, ${builtCalls.length} KPI events`,
    header: ['contender', 'median per batch', 'spans/s'],
    rows: rows.map((r) => [r.name, ms(r.medianMs), thousands(r.spansPerSecond)]),
    notes: [
      `OTLP serializer time / CIF mapping time: ${times(speedup)} (median of rounds), ${times(bestSpeedup)} (best rounds).`,
      `CIF mapping + stringify / stringify floor: ${times(overFloor)} (median of rounds), ${times(bestOverFloor)} (best rounds).`,
      'The budgets compare best rounds: a round of the mapping sometimes runs up to twice as long when V8 moves its short-lived objects to the old generation, whichever code runs beside it.',
      `Medians of ${rounds} alternating rounds, each contender in a worker thread of its own; ratios are the median of each round's ratio.`,
    ],
    values: {
      spans: spans.length,
      kpiEvents: builtCalls.length,
      rounds,
      contenders: rows,
      otlpOverMapping: speedup,
      mappingAndStringifyOverFloor: overFloor,
      bestOtlpOverMapping: bestSpeedup,
      bestMappingAndStringifyOverFloor: bestOverFloor,
    },
    budgets: [
      fasterBudget(
        'mapping vs OTLP JSON serializer',
        bestSpeedup,
        BUDGETS.mappingSpeedupOverOtlp,
        'profile with `node --cpu-prof --import tsx bench/run.ts` and look at src/mapping/ (spans.ts, kpi-fields.ts, values.ts)',
      ),
      atMostBudget(
        'mapping + stringify vs stringify floor',
        bestOverFloor,
        BUDGETS.mappingAndStringifyOverFloor,
        'the mapping costs more than writing its own output; profile src/mapping/',
      ),
    ],
  };
}
