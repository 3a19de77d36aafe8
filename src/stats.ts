/**
 * Why KPI events were not delivered. Counted in KPI events, except `invalid_span` (in spans).
 * The mapping drops `missing_identity`, `identity_too_long`, `missing_kpi_name`,
 * `invalid_timestamp` and `invalid_span` before delivery; the rest are `DeliveryDropReason`s.
 */
export type CifDropReason =
  | 'missing_identity'
  | 'identity_too_long'
  | 'missing_kpi_name'
  | 'invalid_timestamp'
  | 'invalid_span'
  | DeliveryDropReason;

/** Why a call handed to delivery failed for good; every KPI event of the call is counted. */
export type DeliveryDropReason = (typeof DELIVERY_DROP_REASONS)[number];

/** The drop reasons of delivery, the ones in the `kpiEventsSent` balance. */
export const DELIVERY_DROP_REASONS = [
  'cif_not_loaded',
  'host_error',
  'timed_out',
  'queue_full',
  'after_shutdown',
] as const;

/** Payload fields that were cut to their Dataverse column size. */
export type CifTruncatedField =
  | 'kpiEventName'
  | 'kpiEventReason'
  | 'additionalData'
  | 'notificationResponseAction'
  | 'externalCorrelationId'
  | 'customData';

/** Why a single field was left out of a KPI event that was still sent. */
export type CifDroppedFieldReason = 'invalid_custom_column' | 'unserializable_value';

/**
 * Counters since the exporter was created; `getStats()` returns a copy. KPI events balance:
 * `kpiEventsSent` = `kpiEventsDelivered` + `kpiEventsPending` + the sum of `dropped` over
 * `cif_not_loaded`, `host_error`, `timed_out`, `queue_full` and `after_shutdown`.
 */
export interface CifExporterStats {
  /** Spans handed to `export()`. */
  spansSeen: number;
  /** Spans that carry a `cif.` attribute. */
  cifSpans: number;
  /** KPI events the mapping put in calls and handed to delivery (refused ones included). */
  kpiEventsSent: number;
  /** KPI events whose call the host resolved. */
  kpiEventsDelivered: number;
  /** KPI events in calls that are queued or in flight right now. */
  kpiEventsPending: number;
  /** `logAnalyticsEvent` invocations, retries included. */
  callsMade: number;
  /** Of `callsMade`, the invocations that were retries. */
  callsRetried: number;
  /** Calls that failed for good, whatever the reason (each call once, after its last attempt). */
  callsFailed: number;
  /** Of `callsFailed`, calls the host did not answer within `timeoutMillis`. */
  callsTimedOut: number;
  /** Calls waiting right now: for CIF to be ready, for a free slot, or to retry. */
  callsQueued: number;
  /** Calls the host has not answered yet, right now. */
  callsInFlight: number;
  /** Times an `eventFilter`, `eventName` or `correlationId` callback threw or returned a bad value. */
  callbackErrors: number;
  dropped: Record<CifDropReason, number>;
  truncated: Record<CifTruncatedField, number>;
  droppedFields: Record<CifDroppedFieldReason, number>;
}

export function createStats(): CifExporterStats {
  return {
    spansSeen: 0,
    cifSpans: 0,
    kpiEventsSent: 0,
    kpiEventsDelivered: 0,
    kpiEventsPending: 0,
    callsMade: 0,
    callsRetried: 0,
    callsFailed: 0,
    callsTimedOut: 0,
    callsQueued: 0,
    callsInFlight: 0,
    callbackErrors: 0,
    dropped: {
      missing_identity: 0,
      identity_too_long: 0,
      missing_kpi_name: 0,
      invalid_timestamp: 0,
      invalid_span: 0,
      cif_not_loaded: 0,
      host_error: 0,
      timed_out: 0,
      queue_full: 0,
      after_shutdown: 0,
    },
    truncated: {
      kpiEventName: 0,
      kpiEventReason: 0,
      additionalData: 0,
      notificationResponseAction: 0,
      externalCorrelationId: 0,
      customData: 0,
    },
    droppedFields: { invalid_custom_column: 0, unserializable_value: 0 },
  };
}

export function copyStats(stats: CifExporterStats): CifExporterStats {
  return {
    ...stats,
    dropped: { ...stats.dropped },
    truncated: { ...stats.truncated },
    droppedFields: { ...stats.droppedFields },
  };
}
