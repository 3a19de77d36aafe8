import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { normalizeOptions } from '../src/options.js';
import { createStats } from '../src/stats.js';
import { spansToCalls } from '../src/transform.js';
import { BUDGETS } from './budgets.js';
import { alternate, median, medianRatio } from './harness.js';
import { ms, thousands, times, type Section } from './report.js';
import { EXPORTER_OPTIONS } from './spans.js';

const CIF_MAPPING = 'CIF mapping (spansToCalls)';
const CIF_MAPPING_JSON = 'CIF mapping + JSON.stringify of each payload';
const OTLP_JSON = 'OTLP JsonTraceSerializer.serializeRequest';
const JSON_FLOOR = 'JSON.stringify of the built payloads (floor)';

/** The same spans through this exporter's mapping and through the OTLP JSON serializer, alternating. */
export async function measureMapping(spans: ReadableSpan[], rounds: number, timeMs: number): Promise<Section> {
  const options = normalizeOptions(EXPORTER_OPTIONS);
  const builtCalls = spansToCalls(spans, options, createStats());
  let checksum = 0;
  const timings = await alternate(
    [
      { name: CIF_MAPPING, fn: () => (checksum += spansToCalls(spans, options, createStats()).length) },
      {
        name: CIF_MAPPING_JSON,
        fn: () => {
          for (const call of spansToCalls(spans, options, createStats())) checksum += JSON.stringify(call.data).length;
        },
      },
      { name: OTLP_JSON, fn: () => (checksum += JsonTraceSerializer.serializeRequest(spans)?.length ?? 0) },
      {
        name: JSON_FLOOR,
        fn: () => {
          for (const call of builtCalls) checksum += JSON.stringify(call.data).length;
        },
      },
    ],
    { rounds, timeMs },
  );
  if (checksum === 0) throw new Error('the mapping benchmark produced no output');

  const timing = (name: string) => timings.get(name)!;
  const speedup = medianRatio(timing(OTLP_JSON), timing(CIF_MAPPING));
  const overFloor = medianRatio(timing(CIF_MAPPING_JSON), timing(JSON_FLOOR));
  const rows = [CIF_MAPPING, CIF_MAPPING_JSON, OTLP_JSON, JSON_FLOOR].map((name) => {
    const medianMs = median(timing(name).roundMedians);
    return { name, medianMs, spansPerSecond: (spans.length / medianMs) * 1000 };
  });
  return {
    id: 'mapping',
    title: `Mapping: ${spans.length} SDK spans, ${builtCalls.length} KPI events`,
    header: ['contender', 'median per batch', 'spans/s'],
    rows: rows.map((r) => [r.name, ms(r.medianMs), thousands(r.spansPerSecond)]),
    notes: [
      `OTLP serializer time / CIF mapping time: ${times(speedup)}.`,
      `CIF mapping + stringify / stringify floor: ${times(overFloor)}.`,
      `Medians of ${rounds} alternating rounds; ratios are the median of each round's ratio.`,
    ],
    values: {
      spans: spans.length,
      kpiEvents: builtCalls.length,
      rounds,
      contenders: rows,
      otlpOverMapping: speedup,
      mappingAndStringifyOverFloor: overFloor,
    },
    budgets: [
      {
        name: 'mapping vs OTLP JSON serializer',
        rule: `at least ${BUDGETS.mappingSpeedupOverOtlp}x faster`,
        measured: `${times(speedup)} faster`,
        holds: speedup >= BUDGETS.mappingSpeedupOverOtlp,
        hint: 'profile with `node --cpu-prof --import tsx bench/run.ts` and look at src/transform.ts and src/values.ts',
      },
      {
        name: 'mapping + stringify vs stringify floor',
        rule: `at most ${BUDGETS.mappingAndStringifyOverFloor}x`,
        measured: times(overFloor),
        holds: overFloor <= BUDGETS.mappingAndStringifyOverFloor,
        hint: 'the mapping costs more than writing its own output; profile src/transform.ts',
      },
    ],
  };
}
