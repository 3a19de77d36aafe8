import { ATTR_CIF_KPI_NAME } from '../attributes.js';
import { createMappingStats, type CifExporterStats, type CifMappingStats, type MappingDropReason } from '../stats.js';
import type { CifCall, CifReadableSpan, CifTimedEvent } from '../types.js';
import { collectCalls } from './calls.js';
import { addKpiEvents, ask, isBoolean, resolveOwner, type KpiCandidate, type KpiEventOptions, type MappingWarn, type PendingKpiEvent } from './kpi-events.js';
import { field, hasCifAttribute, isInstrumentationScope, readKpiFields, sdkCount } from './kpi-fields.js';
import { traceIdToGuid } from './trace-id.js';

/** What the span mapping needs from the exporter's options, already validated. */
export interface SpanMappingOptions extends KpiEventOptions<CifReadableSpan> {
  eventFilter: (event: CifTimedEvent, span: CifReadableSpan) => boolean;
}

/** The counters the span mapping updates. */
export type SpanMappingStats = Pick<CifExporterStats, 'spansSeen' | 'cifSpans'> &
  CifMappingStats<'sdk_event_limit' | 'invalid_span' | MappingDropReason>;

export function createSpanMappingStats(): SpanMappingStats {
  return { spansSeen: 0, cifSpans: 0, ...createMappingStats({ sdk_event_limit: 0, invalid_span: 0 }) };
}

/** The parts of a span the SDK may have cut, read only when present. */
interface SdkLimits {
  droppedEventsCount?: unknown;
  droppedAttributesCount?: unknown;
}

/**
 * Maps one export batch of spans to `logAnalyticsEvent` calls. Pure: no I/O and no clock; what
 * it drops, cuts or leaves out is counted in `stats`.
 */
export function spansToCalls(
  spans: readonly CifReadableSpan[],
  options: SpanMappingOptions,
  stats: SpanMappingStats,
  warn?: MappingWarn,
): CifCall[] {
  return collectCalls(
    spans,
    (span, out) => collectSpan(span, options, stats, out, warn),
    () => stats.dropped.invalid_span++,
    options.maxEventsPerCall,
  );
}

/** A span is a CIF span when it or one of its events has a `cif.` attribute. */
export function isCifSpan(span: CifReadableSpan): boolean {
  if (hasCifAttribute(span.attributes)) return true;
  for (const event of span.events) {
    if (event.attributes && hasCifAttribute(event.attributes)) return true;
  }
  return false;
}

/**
 * Adds the KPI events of one span to `out`: none when it is not a CIF span or cannot be delivered.
 * Every read of the span comes before the first drop is counted, so a span that throws half way
 * is counted once, as `invalid_span`, and its KPI events under no other reason.
 */
function collectSpan(
  span: CifReadableSpan,
  options: SpanMappingOptions,
  stats: SpanMappingStats,
  out: PendingKpiEvent[],
  warn: MappingWarn | undefined,
): void {
  stats.spansSeen++;
  if (!isCifSpan(span)) return;
  stats.cifSpans++;

  const spanFields = readKpiFields(span.attributes, options.customAttributes, stats, warn);
  const kpis: KpiCandidate[] = [];
  const spanKpiName = field(span.attributes, ATTR_CIF_KPI_NAME, stats);
  if (spanKpiName !== undefined) kpis.push({ name: spanKpiName, time: span.endTime, fields: spanFields });
  let sdkDroppedAttributes = sdkCount((span as SdkLimits).droppedAttributesCount);
  for (const event of span.events) {
    sdkDroppedAttributes += sdkCount((event as SdkLimits).droppedAttributesCount);
    if (!ask(options.eventFilter, defaultEventFilter, isBoolean, event, span, stats)) continue;
    const attributes = event.attributes ?? {};
    const fields = readKpiFields(attributes, options.customAttributes, stats, warn, spanFields);
    const name = field(attributes, ATTR_CIF_KPI_NAME, stats) ?? event.name;
    kpis.push({ name, time: event.time, fields });
  }
  const sdkDroppedEvents = sdkCount((span as SdkLimits).droppedEventsCount);
  const owner =
    kpis.length === 0
      ? undefined
      : resolveOwner(span, span.attributes, span.resource.attributes, options, defaultCorrelationId, () => `span '${String(span.name)}'`, stats);

  stats.dropped.sdk_event_limit += sdkDroppedEvents;
  stats.droppedFields.sdk_attribute_limit += sdkDroppedAttributes;
  if (owner) addKpiEvents(span, kpis, owner, options, stats, out, warn);
}

/**
 * Span events that the web instrumentations (fetch, XHR, document load) record for network
 * timing: the values of `PerformanceTimingNames` in `@opentelemetry/sdk-trace-web`, all 23.
 */
const PERFORMANCE_TIMING_NAME =
  /^(?:(?:connect|domainLookup|domContentLoadedEvent|(?:un)?loadEvent|redirect|response)(?:Start|End)|(?:fetch|navigation|request|secureConnection)Start|(?:de|en)codedBodySize|dom(?:Complete|Interactive)|startTime)$/;

export function isPerformanceTimingName(name: string): boolean {
  return PERFORMANCE_TIMING_NAME.test(name);
}

/**
 * Leaves out the span events no widget means as KPI events: the OpenTelemetry `exception` event,
 * the network timing events (`fetchStart`, `responseEnd`, ...), and every event of a span made by
 * an instrumentation library (`open`, `send`, `loaded`, `firstPaint`, ...), which a span gets once
 * the session processor makes it a CIF span. Any of these with a `cif.` attribute is kept.
 */
export function defaultEventFilter(event: CifTimedEvent, span: CifReadableSpan): boolean {
  const left = event.name === 'exception' || isPerformanceTimingName(event.name) || isInstrumentationScope(span.instrumentationScope);
  return !left || (event.attributes !== undefined && hasCifAttribute(event.attributes));
}

/** The span's trace id as a GUID. */
export function defaultCorrelationId(span: CifReadableSpan): string {
  return traceIdToGuid(span.spanContext().traceId);
}
