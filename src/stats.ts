/**
 * Why KPI events were not delivered. Counted in KPI events, except `invalid_span` (in spans) and
 * `sdk_event_limit` (span events of CIF spans that the SDK dropped over `spanLimits.eventCountLimit`,
 * each possibly a KPI event). These never reach delivery, nor do `missing_identity`,
 * `identity_too_long`, `missing_kpi_name` and `invalid_timestamp`; the rest are `DeliveryDropReason`s.
 */
export type CifDropReason =
  | 'sdk_event_limit'
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

/**
 * Why a single field was left out of a KPI event that was still sent. `sdk_attribute_limit`
 * counts attributes the SDK dropped from CIF spans and their events over its attribute limits.
 */
export type CifDroppedFieldReason = 'invalid_custom_column' | 'unserializable_value' | 'sdk_attribute_limit';

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
  /** Timed-out calls the host may still be running, right now; each holds a `maxConcurrentCalls` slot. */
  callsAbandoned: number;
  /** Times an `eventFilter`, `eventName` or `correlationId` callback you passed threw or returned a bad value. */
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
    callsAbandoned: 0,
    callbackErrors: 0,
    dropped: {
      sdk_event_limit: 0,
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
    droppedFields: { invalid_custom_column: 0, unserializable_value: 0, sdk_attribute_limit: 0 },
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
