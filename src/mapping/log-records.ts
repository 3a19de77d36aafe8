import { isValidTraceId } from '@opentelemetry/api';
import { v5 as uuidv5 } from 'uuid';
import { ATTR_CIF_KPI_NAME, CIF_KPI_PREFIX } from '../attributes.js';
import { createMappingStats, type CifLogRecordExporterStats, type CifMappingStats, type MappingDropReason } from '../stats.js';
import type { CifCall, CifReadableLogRecord } from '../types.js';
import { collectCalls, type Cursor } from './calls.js';
import { addKpiEvents, ask, hrTimeToMillis, type KpiEventOptions, type MappingWarn, type PendingCall } from './kpi-events.js';
import { hasCifAttribute, isInstrumentationScope, own, readField, readKpiFields, sdkCount, type Identity } from './kpi-fields.js';
import { traceIdToGuid } from './trace-id.js';
import { UNSERIALIZABLE, toPayloadString } from './values.js';

/** What the log record mapping needs from the exporter's options, already validated. */
interface LogRecordMappingOptions extends KpiEventOptions<CifReadableLogRecord> {
  eventFilter: (record: CifReadableLogRecord) => boolean;
}

/** The counters the log record mapping updates. */
export type LogRecordMappingStats = Pick<CifLogRecordExporterStats, 'logRecordsSeen' | 'cifLogRecords'> &
  CifMappingStats<'invalid_log_record' | MappingDropReason>;

export function createLogRecordMappingStats(): LogRecordMappingStats {
  return { logRecordsSeen: 0, cifLogRecords: 0, ...createMappingStats('invalid_log_record') };
}

/**
 * Maps one export batch of log records, or with `cursor` one part of it (`collectCalls`), to
 * `logAnalyticsEvent` calls, by the rules of spans.
 * No I/O and no clock; what it drops, cuts or leaves out is counted in `stats`, and each record noted in `mappedLogRecords`.
 */
export function logRecordsToCalls(
  records: readonly CifReadableLogRecord[],
  options: LogRecordMappingOptions,
  stats: LogRecordMappingStats,
  warn?: MappingWarn,
  cursor?: Cursor,
): CifCall[] {
  return collectCalls(records, collectLogRecord, 'invalid_log_record', options, stats, warn, cursor);
}

/**
 * Every log record a `CifLogRecordExporter` mapped, so that `CifSessionLogRecordProcessor` can tell when it stamps one
 * too late (registered after a processor that exports as records are emitted). Weak: it holds none of them.
 */
export const mappedLogRecords = new WeakSet<object>();

/**
 * Adds the KPI event of one log record to `out`. A record is one when it carries a `cif.`
 * attribute (the session processor stamps them) and an event name: `cif.kpi.name`, else its
 * `eventName`. As for spans, every read comes before the first drop is counted.
 */
function collectLogRecord(
  record: CifReadableLogRecord,
  options: LogRecordMappingOptions,
  stats: LogRecordMappingStats,
  out: PendingCall[],
  warn: MappingWarn | undefined,
): void {
  stats.logRecordsSeen++;
  mappedLogRecords.add(Object(record) as object);
  const { attributes } = record;
  if (!hasCifAttribute(attributes)) return;
  stats.cifLogRecords++;

  const kpiName = readField(attributes, ATTR_CIF_KPI_NAME);
  // Read as a span event's name is: a value of another type is written as one, and one with no text (null, '') is none.
  const eventName = toPayloadString(record.eventName);
  // Absent both ways it is a plain log line. A `cif.kpi.name` that is there, even empty or
  // unreadable, marks a KPI event: `emitKpiEvent(logger, '')` is counted, as on spans.
  if (kpiName === undefined && own(attributes, ATTR_CIF_KPI_NAME) === undefined && eventName === undefined) return;
  if (!ask(options.eventFilter, defaultLogRecordFilter, 'boolean', record, undefined, stats, warn, 'eventFilter')) return;
  const name = typeof kpiName === 'string' ? kpiName : eventName;
  const fields = readKpiFields(attributes, options.customAttributes);
  // Left out of the KPI event the record's eventName names.
  if (kpiName === UNSERIALIZABLE) fields[5] = (fields[5] ?? 0) + 1;
  // The SDK stamps `hrTime` at emit when the record has no timestamp; a foreign record may lack it,
  // or hold one past what a `Date` holds.
  const time = Math.abs(hrTimeToMillis(record.hrTime) ?? NaN) <= 8.64e15 ? record.hrTime : record.hrTimeObserved;
  const sdkDroppedAttributes = sdkCount((record as { droppedAttributesCount?: unknown }).droppedAttributesCount);

  const label = () => (typeof name === 'string' ? `log record '${name}'` : 'a log record without a name');
  addKpiEvents(record, [[name, time, fields]], attributes, record.resource.attributes, label, defaultLogRecordCorrelationId, options, stats, out, warn);
  stats.droppedFields.sdk_attribute_limit += sdkDroppedAttributes;
}

/**
 * As for span events: leaves out the OpenTelemetry `exception` event and the events of
 * instrumentation libraries, unless they carry a `cif.kpi.` attribute (the session's `cif.` ids
 * are on every record, so they mark nothing).
 */
export function defaultLogRecordFilter(record: CifReadableLogRecord): boolean {
  const left = record.eventName === 'exception' || isInstrumentationScope(record.instrumentationScope);
  return !left || hasCifAttribute(record.attributes, CIF_KPI_PREFIX);
}

/** Names traceless records' correlation ids: fixed, so that they are the same on every page. */
const CORRELATION_NAMESPACE = '54eb8120-2f21-4cf9-886d-88b804abe84b';

/**
 * The trace id of the record's span context as a GUID, shared with the span events of that trace.
 * A record emitted outside any trace gets a UUID named by its conversation and provider session
 * (v5): every such record of one conversation and provider session shares it, with no state kept.
 */
export function defaultLogRecordCorrelationId(record: CifReadableLogRecord, identity: Identity): string {
  const traceId = record.spanContext?.traceId;
  if (traceId !== undefined && isValidTraceId(traceId)) return traceIdToGuid(traceId);
  // Named as JSON writes the pair of ids that need no escapes, without the page's JSON, which a library may have replaced.
  return uuidv5(`[${quoted(identity.conversationId)},${quoted(identity.providerSessionId)}]`, CORRELATION_NAMESPACE);
}

/** An id in quotes, its quotes and backslashes escaped: no two pairs of ids name the same UUID. */
const quoted = (id: string): string => `"${id.replace(/["\\]/g, '\\$&')}"`;
