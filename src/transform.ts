import type { Attributes, HrTime } from '@opentelemetry/api';
import {
  ATTR_CIF_KPI_ADDITIONAL_DATA,
  ATTR_CIF_KPI_EXTERNAL_CORRELATION_ID,
  ATTR_CIF_KPI_NAME,
  ATTR_CIF_KPI_NOTIFICATION_RESPONSE_ACTION,
  ATTR_CIF_KPI_REASON,
  CIF_ATTRIBUTE_PREFIX,
  CIF_KPI_CUSTOM_PREFIX,
  SESSION_ATTRIBUTES,
} from './attributes.js';
import type { CifDropReason, CifExporterStats } from './stats.js';
import { traceIdToGuid } from './trace-id.js';
import type {
  CifAnalyticsData,
  CifCall,
  CifKpiEvent,
  CifReadableSpan,
  CifSession,
  CifTimedEvent,
} from './types.js';
import {
  MAX_ADDITIONAL_DATA_LENGTH,
  MAX_TEXT_LENGTH,
  UNSERIALIZABLE,
  isColumnName,
  toIsoTimestamp,
  toPayloadString,
  truncate,
} from './values.js';

/** What the mapping needs from the exporter's options, already validated. */
export interface MappingOptions {
  session: CifSession;
  /** `[attribute key, column]` pairs from `customAttributes`. */
  customAttributes: ReadonlyArray<readonly [string, string]>;
  eventFilter: (event: CifTimedEvent, span: CifReadableSpan) => boolean;
  eventName: (kpiEvent: CifKpiEvent, span: CifReadableSpan) => string;
  correlationId: (span: CifReadableSpan) => string;
  maxEventsPerCall: number;
}

/** The counters the mapping updates. */
export type MappingStats = Pick<
  CifExporterStats,
  'spansSeen' | 'cifSpans' | 'callbackErrors' | 'dropped' | 'truncated' | 'droppedFields'
>;

/** Told once per dropped span why its KPI events could not be sent, with what only the span shows. */
export type MappingWarn = (reason: CifDropReason, detail: string) => void;

/** The parts of a span the SDK may have cut, read only when present. */
interface SdkLimits {
  droppedEventsCount?: unknown;
  droppedAttributesCount?: unknown;
}

type Identity = Omit<CifAnalyticsData, 'events'>;

/** The optional text fields of a KPI event: payload field, the attribute it comes from, its column size. */
const KPI_FIELDS = [
  ['kpiEventReason', ATTR_CIF_KPI_REASON, MAX_TEXT_LENGTH],
  ['additionalData', ATTR_CIF_KPI_ADDITIONAL_DATA, MAX_ADDITIONAL_DATA_LENGTH],
  ['notificationResponseAction', ATTR_CIF_KPI_NOTIFICATION_RESPONSE_ACTION, MAX_TEXT_LENGTH],
  ['externalCorrelationId', ATTR_CIF_KPI_EXTERNAL_CORRELATION_ID, MAX_TEXT_LENGTH],
] as const;

/** `[column, value]` pairs, a column at most once: a handful per bag, so arrays beat `Map`s. */
type CustomColumns = Array<[string, string]>;

/** KPI fields read from one attribute bag (a span's or an event's), before truncation. */
interface KpiFields {
  /** One value per `KPI_FIELDS` entry, in its order. */
  text: Array<string | undefined>;
  custom: CustomColumns | undefined;
}

/** A KPI event on its way into a call. */
interface PendingKpiEvent {
  millis: number;
  event: CifKpiEvent;
  eventName: string;
  identity: Identity;
  correlationId: string;
}

/**
 * Maps one export batch to `logAnalyticsEvent` calls. Pure: no I/O and no clock; what it
 * drops, cuts or leaves out is counted in `stats`.
 */
export function spansToCalls(
  spans: readonly CifReadableSpan[],
  options: MappingOptions,
  stats: MappingStats,
  warn?: MappingWarn,
): CifCall[] {
  const pending: PendingKpiEvent[] = [];
  for (const span of spans) {
    stats.spansSeen++;
    const before = pending.length;
    try {
      collectSpan(span, options, stats, pending, warn);
    } catch {
      // Taken whole or not at all, and a malformed span object must not cost the rest of the batch.
      pending.length = before;
      stats.dropped.invalid_span++;
    }
  }
  pending.sort((a, b) => a.millis - b.millis);
  return options.maxEventsPerCall === 1
    ? pending.map((p) => toCall(p, [p.event]))
    : groupCalls(pending, options.maxEventsPerCall);
}

/** A span is a CIF span when it or one of its events has a `cif.` attribute. */
export function isCifSpan(span: CifReadableSpan): boolean {
  if (hasCifAttribute(span.attributes)) return true;
  for (const event of span.events) {
    if (event.attributes && hasCifAttribute(event.attributes)) return true;
  }
  return false;
}

function hasCifAttribute(attributes: Attributes): boolean {
  for (const key in attributes) {
    if (key.startsWith(CIF_ATTRIBUTE_PREFIX)) return true;
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
  options: MappingOptions,
  stats: MappingStats,
  out: PendingKpiEvent[],
  warn: MappingWarn | undefined,
): void {
  if (!isCifSpan(span)) return;
  stats.cifSpans++;

  const spanFields = readKpiFields(span.attributes, options.customAttributes, stats);
  const kpis: Array<{ name: unknown; time: HrTime; fields: KpiFields }> = [];
  const spanKpiName = field(span.attributes, ATTR_CIF_KPI_NAME, stats);
  if (spanKpiName !== undefined) kpis.push({ name: spanKpiName, time: span.endTime, fields: spanFields });
  let sdkDroppedAttributes = sdkCount((span as SdkLimits).droppedAttributesCount);
  for (const event of span.events) {
    sdkDroppedAttributes += sdkCount((event as SdkLimits).droppedAttributesCount);
    if (!ask(options.eventFilter, defaultEventFilter, isBoolean, event, span, stats)) continue;
    const attributes = event.attributes ?? {};
    const fields = mergeFields(spanFields, readKpiFields(attributes, options.customAttributes, stats));
    const name = field(attributes, ATTR_CIF_KPI_NAME, stats) ?? event.name;
    kpis.push({ name, time: event.time, fields });
  }
  const sdkDroppedEvents = sdkCount((span as SdkLimits).droppedEventsCount);
  const identity = kpis.length === 0 ? undefined : resolveIdentity(span, options.session, stats);
  const correlationId = typeof identity === 'object' ? ask(options.correlationId, defaultCorrelationId, isText, span, undefined, stats) : '';
  const missing = identity === 'missing_identity' && warn ? missingIds(span, options.session) : '';

  stats.dropped.sdk_event_limit += sdkDroppedEvents;
  stats.droppedFields.sdk_attribute_limit += sdkDroppedAttributes;
  if (identity === undefined) return;
  if (typeof identity === 'string') {
    stats.dropped[identity] += kpis.length;
    if (missing) warn?.(identity, missing);
    return;
  }
  for (const kpi of kpis) {
    const name = payloadString(kpi.name, stats);
    if (name === undefined) {
      stats.dropped.missing_kpi_name++;
      continue;
    }
    const millis = hrTimeToMillis(kpi.time);
    if (millis === undefined) {
      stats.dropped.invalid_timestamp++;
      continue;
    }
    const event = buildKpiEvent(name, millis, kpi.fields, stats);
    const eventName = ask(options.eventName, defaultEventName, isText, event, span, stats);
    out.push({ millis, event, eventName, identity, correlationId });
  }
}

/** A count the SDK keeps on spans and events; anything else (older SDKs, hostile objects) is 0. */
function sdkCount(value: unknown): number {
  return typeof value === 'number' && value > 0 && Number.isSafeInteger(value) ? value : 0;
}

/** Which ids a span lacks, and where: for the warning, which a bare counter cannot say. */
function missingIds(span: CifReadableSpan, session: CifSession): string {
  const missing: string[] = [];
  // The first two are the ids the docs require.
  for (const [name, key] of SESSION_ATTRIBUTES.slice(0, 2)) {
    const found = [readField(span.attributes, key), readField(span.resource.attributes, key), session[name]];
    if (!found.some((value) => typeof value === 'string')) missing.push(key);
  }
  return `span '${String(span.name)}' has no ${missing.join(' and ')}`;
}

/**
 * Asks a callback the user passed. A throw, or a value `valid` refuses, is counted in
 * `callbackErrors` and gets `fallback`'s answer. The default itself runs unguarded: when it
 * throws, the span or event cannot be read, which is the span's fault.
 */
function ask<A, B, R>(
  callback: (a: A, b: B) => unknown,
  fallback: (a: A, b: B) => R,
  valid: (value: unknown) => value is R,
  a: A,
  b: B,
  stats: MappingStats,
): R {
  if (callback === fallback) return fallback(a, b);
  try {
    const value = callback(a, b);
    if (valid(value)) return value;
  } catch {
    // Counted below; the default answers for this one.
  }
  stats.callbackErrors++;
  return fallback(a, b);
}

const isBoolean = (value: unknown): value is boolean => typeof value === 'boolean';
const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';

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
 * Keeps every span event except the OpenTelemetry `exception` event and the network timing
 * events of the web instrumentations (`fetchStart`, `responseEnd`, ...), which a span gets once
 * the session processor makes it a CIF span. A timing-named event with a `cif.` attribute is kept.
 */
export function defaultEventFilter(event: CifTimedEvent): boolean {
  if (event.name === 'exception') return false;
  if (!isPerformanceTimingName(event.name)) return true;
  return event.attributes !== undefined && hasCifAttribute(event.attributes);
}

/** The KPI event's own name. */
export function defaultEventName(kpiEvent: CifKpiEvent): string {
  return kpiEvent.kpiEventName;
}

/** The span's trace id as a GUID. */
export function defaultCorrelationId(span: CifReadableSpan): string {
  return traceIdToGuid(span.spanContext().traceId);
}

/**
 * Identity per field: span attribute, then resource attribute, then the configured session.
 * Gives the drop reason when the span cannot be delivered.
 */
export function resolveIdentity(
  span: CifReadableSpan,
  session: CifSession,
  stats: MappingStats,
): Identity | CifDropReason {
  const identity: Partial<Identity> = {};
  for (const [name, key] of SESSION_ATTRIBUTES) {
    const value = field(span.attributes, key, stats) ?? field(span.resource.attributes, key, stats) ?? session[name];
    if (value === undefined) continue;
    if (value.length > MAX_TEXT_LENGTH) return 'identity_too_long';
    identity[name] = value;
  }
  if (identity.conversationId === undefined || identity.providerSessionId === undefined) {
    return 'missing_identity';
  }
  return identity as Identity;
}

function readKpiFields(
  attributes: Attributes,
  customAttributes: MappingOptions['customAttributes'],
  stats: MappingStats,
): KpiFields {
  const text = KPI_FIELDS.map(([, key]) => field(attributes, key, stats));
  // Mapped attributes first, so an explicit `cif.kpi.custom.*` on the same bag wins.
  let custom: CustomColumns | undefined;
  for (const [key, column] of customAttributes) {
    const value = field(attributes, key, stats);
    if (value !== undefined) custom = setColumn(custom ?? [], column, value);
  }
  for (const key in attributes) {
    if (!key.startsWith(CIF_KPI_CUSTOM_PREFIX)) continue;
    const value = field(attributes, key, stats);
    if (value === undefined) continue;
    const column = key.slice(CIF_KPI_CUSTOM_PREFIX.length);
    if (!isColumnName(column)) {
      stats.droppedFields.invalid_custom_column++;
      continue;
    }
    custom = setColumn(custom ?? [], column, value);
  }
  return { text, custom };
}

/** Sets `column` in place, keeping the place of a column already there. */
function setColumn(custom: CustomColumns, column: string, value: string): CustomColumns {
  const entry = custom.find(([c]) => c === column);
  if (entry) entry[1] = value;
  else custom.push([column, value]);
  return custom;
}

/** Event-level values win over the span-level defaults, column by column for custom data. */
function mergeFields(span: KpiFields, event: KpiFields): KpiFields {
  let custom = event.custom ?? span.custom;
  if (span.custom && event.custom) {
    custom = span.custom.map(([column, value]): [string, string] => [column, value]);
    for (const [column, value] of event.custom) setColumn(custom, column, value);
  }
  return { text: event.text.map((value, i) => value ?? span.text[i]), custom };
}

function buildKpiEvent(name: string, millis: number, fields: KpiFields, stats: MappingStats): CifKpiEvent {
  const event: CifKpiEvent = {
    kpiEventName: cut(name, MAX_TEXT_LENGTH, 'kpiEventName', stats),
    eventTimestamp: toIsoTimestamp(millis),
  };
  KPI_FIELDS.forEach(([name, , max], i) => {
    const value = fields.text[i];
    if (value !== undefined) event[name] = cut(value, max, name, stats);
  });
  if (fields.custom) {
    event.customData = fields.custom.map(([attribute, value]) => ({ attribute, value: cut(value, MAX_TEXT_LENGTH, 'customData', stats) }));
  }
  return event;
}

function cut(
  value: string,
  max: number,
  field: keyof MappingStats['truncated'],
  stats: MappingStats,
): string {
  if (value.length <= max) return value;
  stats.truncated[field]++;
  return truncate(value, max);
}

/** One attribute as a payload string; a value that cannot be read or written is left out and counted. */
function field(attributes: Attributes, key: string, stats: MappingStats): string | undefined {
  return counted(readField(attributes, key), stats);
}

/** A getter on the attribute bag may throw: that loses the value, not the span. */
function readField(attributes: Attributes, key: string): ReturnType<typeof toPayloadString> {
  try {
    return toPayloadString(attributes[key]);
  } catch {
    return UNSERIALIZABLE;
  }
}

function payloadString(value: unknown, stats: MappingStats): string | undefined {
  return counted(toPayloadString(value), stats);
}

function counted(text: ReturnType<typeof toPayloadString>, stats: MappingStats): string | undefined {
  if (text !== UNSERIALIZABLE) return text;
  stats.droppedFields.unserializable_value++;
  return undefined;
}

/** Dataverse keeps milliseconds: the rest of the nanoseconds is dropped, not rounded. */
const MAX_DATE_MILLIS = 8.64e15;

export function hrTimeToMillis(time: HrTime): number | undefined {
  try {
    const millis = time[0] * 1000 + Math.floor(time[1] / 1e6);
    return Number.isFinite(millis) && Math.abs(millis) <= MAX_DATE_MILLIS ? millis : undefined;
  } catch {
    // A time that cannot be read is no valid date either.
    return undefined;
  }
}

function toCall(first: PendingKpiEvent, events: CifKpiEvent[]): CifCall {
  return {
    data: payload(first.identity, events),
    eventName: first.eventName,
    correlationId: first.correlationId,
  };
}

/** Built field by field: spreading the identity into every payload was the mapping's slowest step. */
function payload(identity: Identity, events: CifKpiEvent[]): CifAnalyticsData {
  // `events` is set last so the payload keeps its field order: the identity, then the events.
  const data = { conversationId: identity.conversationId, providerSessionId: identity.providerSessionId } as CifAnalyticsData;
  if (identity.clientSessionId !== undefined) data.clientSessionId = identity.clientSessionId;
  if (identity.participantId !== undefined) data.participantId = identity.participantId;
  data.events = events;
  return data;
}

/** KPI events sharing eventName, identity and correlationId go together, in time order. */
function groupCalls(pending: readonly PendingKpiEvent[], maxEventsPerCall: number): CifCall[] {
  // Walking the events in time order, a call opens with its first event: the calls stay in
  // time order too, and each group's call in progress takes the group's next events.
  const open = new Map<string, CifKpiEvent[]>();
  const calls: CifCall[] = [];
  for (const p of pending) {
    const key = groupKey(p);
    let events = open.get(key);
    if (events === undefined || events.length === maxEventsPerCall) {
      events = [];
      open.set(key, events);
      calls.push(toCall(p, events));
    }
    events.push(p.event);
  }
  return calls;
}

/** JSON, so that no character inside an id can make two different groups share a key. */
function groupKey(p: PendingKpiEvent): string {
  const { identity: id } = p;
  return JSON.stringify([p.eventName, p.correlationId, id.conversationId, id.providerSessionId, id.clientSessionId, id.participantId]);
}
