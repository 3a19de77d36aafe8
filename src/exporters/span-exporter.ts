import { createSpanMappingStats, spansToCalls, type SpanMappingStats } from '../mapping/spans.js';
import { SPAN_DEFAULTS, normalizeOptions, type CifSpanExporterOptions, type NormalizedOptions } from '../options.js';
import type { CifExporterStats } from '../stats.js';
import type { CifReadableSpan } from '../types.js';
import { KpiEventExporter, type Source } from './kpi-exporter.js';

type SpanOptions = NormalizedOptions<CifReadableSpan>;

const SPANS: Source<CifReadableSpan, SpanOptions, SpanMappingStats> = {
  ...SPAN_DEFAULTS,
  map: spansToCalls,
  warnings: {
    'dropped.sdk_event_limit': 'KPI events lost: the SDK dropped span events over spanLimits.eventCountLimit.',
    'dropped.missing_kpi_name': 'KPI events dropped: a span event, or a span by its cif.kpi.name, has no name.',
    'dropped.invalid_span': 'A span that is not a ReadableSpan was skipped.',
    'droppedFields.sdk_attribute_limit': 'Fields lost: the SDK dropped attributes over spanLimits.attribute*CountLimit, or of a type it does not keep.',
  },
};

/**
 * An OpenTelemetry `SpanExporter` that turns spans carrying `cif.*` attributes into
 * `Microsoft.CIFramework.logAnalyticsEvent` calls. Other spans are ignored.
 */
export class CifSpanExporter extends KpiEventExporter<CifReadableSpan, SpanOptions, SpanMappingStats, CifExporterStats> {
  /** Throws a `TypeError` when an option is invalid; nothing after construction throws. */
  constructor(options?: CifSpanExporterOptions) {
    super(SPANS, normalizeOptions(options, SPANS), createSpanMappingStats());
  }
}
