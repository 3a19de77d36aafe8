import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { CifSpanExporter } from '../src/index.js';
import { normalizeOptions } from '../src/options.js';
import { createStats } from '../src/stats.js';
import { spansToCalls } from '../src/transform.js';
import { alternate, inThisThread, median, medianRatio, quantile } from './harness.js';
import { ms, times, type Section } from './report.js';
import { EXPORTER_OPTIONS, immediateClient } from './spans.js';

const EXPORT = 'export() to callback';
const MAPPING = 'CIF mapping alone (anchor)';

/** `export()` of one batch until its callback, with a host that answers at once. */
export async function measureExport(spans: ReadableSpan[], rounds: number, timeMs: number): Promise<Section> {
  const exporter = new CifSpanExporter({ ...EXPORTER_OPTIONS, client: immediateClient() });
  const options = normalizeOptions(EXPORTER_OPTIONS);
  let checksum = 0;
  const timings = await alternate(
    [
      {
        name: EXPORT,
        fn: () =>
          new Promise<void>((resolve, reject) =>
            exporter.export(spans, (result) =>
              result.code === ExportResultCode.SUCCESS ? resolve() : reject(result.error),
            ),
          ),
      },
      { name: MAPPING, fn: () => (checksum += spansToCalls(spans, options, createStats()).length) },
    ].map(inThisThread),
    { rounds, timeMs },
  );
  await exporter.shutdown();
  if (checksum === 0 || exporter.getStats().callsMade === 0) throw new Error('the export benchmark made no calls');

  const exportTiming = timings.get(EXPORT)!;
  const mappingTiming = timings.get(MAPPING)!;
  const p50 = median(exportTiming.samples);
  const p99 = quantile(exportTiming.samples, 0.99);
  const overMapping = medianRatio(exportTiming, mappingTiming);
  return {
    id: 'export',
    title: `Export overhead: ${spans.length}-span batch, host answering at once`,
    header: ['measure', 'value'],
    rows: [
      ['median, export() to callback', ms(p50)],
      ['p99, export() to callback', ms(p99)],
      ['samples', String(exportTiming.samples.length)],
      ['median export / median mapping', times(overMapping)],
    ],
    notes: [
      'The batch makes one logAnalyticsEvent call per KPI event; the rest above the mapping is those calls and their promises.',
    ],
    values: {
      spans: spans.length,
      samples: exportTiming.samples.length,
      medianMs: p50,
      p99Ms: p99,
      mappingMedianMs: median(mappingTiming.roundMedians),
      exportOverMapping: overMapping,
    },
    budgets: [],
  };
}
