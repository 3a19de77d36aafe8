import { ATTR_CIF_KPI_NAME } from '../attributes.js';
import { createMappingStats, type CifExporterStats, type CifMappingStats, type MappingDropReason } from '../stats.js';
import type { CifCall, CifReadableSpan, CifTimedEvent } from '../types.js';
import { collectCalls, type Cursor } from './calls.js';
import { addKpiEvents, ask, type KpiCandidate, type KpiEventOptions, type MappingWarn, type PendingCall } from './kpi-events.js';
import { field, hasCifAttribute, isInstrumentationScope, own, readField, readKpiFields, sdkCount } from './kpi-fields.js';
import { traceIdToGuid } from './trace-id.js';
import { copied } from './values.js';

/** What the span mapping needs from the exporter's options, already validated. */
interface SpanMappingOptions extends KpiEventOptions<CifReadableSpan> {
  eventFilter: (event: CifTimedEvent, span: CifReadableSpan) => boolean;
}

/** The counters the span mapping updates. */
export type SpanMappingStats = Pick<CifExporterStats, 'spansSeen' | 'cifSpans'> &
  CifMappingStats<'sdk_event_limit' | 'invalid_span' | MappingDropReason>;

export function createSpanMappingStats(): SpanMappingStats {
  return { spansSeen: 0, cifSpans: 0, ...createMappingStats('sdk_event_limit invalid_span') };
}

/** The parts of a span or span event the SDK may have cut, read only when present. */
interface SdkLimits {
  droppedEventsCount?: unknown;
  droppedAttributesCount?: unknown;
}

/**
 * Maps one export batch of spans, or with `cursor` one part of it (`collectCalls`), to
 * `logAnalyticsEvent` calls. Pure: no I/O and no clock; what it drops, cuts or leaves out is
 * counted in `stats`.
 */
export function spansToCalls(
  spans: readonly CifReadableSpan[],
  options: SpanMappingOptions,
  stats: SpanMappingStats,
  warn?: MappingWarn,
  cursor?: Cursor,
): CifCall[] {
  return collectCalls(spans, collectSpan, 'invalid_span', options, stats, warn, cursor);
}

/**
 * Adds the KPI events of one span to `out`: none when it is not a CIF span (it or one of its
 * events has a `cif.` attribute) or cannot be delivered. Every read of the span comes before the
 * first drop is counted, so a span that throws half way is counted once, as `invalid_span`.
 */
function collectSpan(span: CifReadableSpan, options: SpanMappingOptions, stats: SpanMappingStats, out: PendingCall[], warn: MappingWarn | undefined): void {
  stats.spansSeen++;
  const { attributes } = span;
  // Copied: the events asked about are those the span had, whatever a callback does to its array.
  const events = copied(span.events);
  if (!hasCifAttribute(attributes) && !events.some((event) => hasCifAttribute(event.attributes))) {
    // The SDK may have dropped the KPI events that made it a CIF span: with the ids on the resource, they are counted as a
    // CIF span's. A span of another library that cannot be read is left alone: it is no CIF span.
    try {
      const dropped = sdkCount((span as SdkLimits).droppedEventsCount);
      if (dropped && hasCifAttribute(span.resource.attributes)) stats.dropped.sdk_event_limit += dropped;
    } catch {
      // Nothing to count.
    }
    return;
  }
  stats.cifSpans++;

  const spanFields = readKpiFields(attributes, options.customAttributes);
  const kpis: KpiCandidate[] = [];
  const spanKpiName = readField(attributes, ATTR_CIF_KPI_NAME);
  // One that is there, even empty or unreadable, marks the span's KPI event, then dropped as missing its name, as on a log record.
  if (spanKpiName !== undefined || own(attributes, ATTR_CIF_KPI_NAME) !== undefined) kpis.push([spanKpiName, span.endTime, spanFields]);
  let sdkDroppedAttributes = sdkCount((span as SdkLimits).droppedAttributesCount);
  for (const event of events) {
    sdkDroppedAttributes += sdkCount((event as SdkLimits).droppedAttributesCount);
    if (!ask(options.eventFilter, defaultEventFilter, 'boolean', event, span, stats, warn, 'eventFilter')) continue;
    const eventAttributes = event.attributes;
    const fields = readKpiFields(eventAttributes, options.customAttributes, spanFields);
    // The event's own name, read as an attribute is: a value of another type is written as one.
    kpis.push([field(eventAttributes, ATTR_CIF_KPI_NAME, fields) ?? readField(event, 'name'), event.time, fields]);
  }
  const sdkDroppedEvents = sdkCount((span as SdkLimits).droppedEventsCount);
  // No owner is asked for (no callback runs) when the span has no KPI event.
  if (kpis.length > 0) addKpiEvents(span, kpis, attributes, span.resource.attributes, () => `span '${String(span.name)}'`, defaultCorrelationId, options, stats, out, warn);
  stats.dropped.sdk_event_limit += sdkDroppedEvents;
  stats.droppedFields.sdk_attribute_limit += sdkDroppedAttributes;
}

/**
 * Span events that the web instrumentations (fetch, XHR, document load) record for network
 * timing: the values of `PerformanceTimingNames` in `@opentelemetry/sdk-trace-web`, all 23.
 */
export const PERFORMANCE_TIMING_NAME =
  /^(?:(?:connect|domainLookup|domContentLoadedEvent|(?:un)?loadEvent|redirect|response)(?:Start|End)|(?:fetch|navigation|request|secureConnection)Start|(?:de|en)codedBodySize|dom(?:Complete|Interactive)|startTime)$/;

/**
 * Leaves out the span events no widget means as KPI events: the OpenTelemetry `exception` event,
 * the network timing events (`fetchStart`, `responseEnd`, ...), and every event of a span made by
 * an instrumentation library (`open`, `send`, `loaded`, `firstPaint`, ...), which a span gets once
 * the session processor makes it a CIF span. Any of these with a `cif.` attribute is kept.
 */
export function defaultEventFilter(event: CifTimedEvent, span: CifReadableSpan): boolean {
  const left = event.name === 'exception' || typeof event.name === 'string' && PERFORMANCE_TIMING_NAME.test(event.name) || isInstrumentationScope(span.instrumentationScope);
  return !left || hasCifAttribute(event.attributes);
}

/** The span's trace id as a GUID. */
export function defaultCorrelationId(span: CifReadableSpan): string {
  return traceIdToGuid(span.spanContext().traceId);
}
