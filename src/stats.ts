/** Why KPI events were not sent. Counted in KPI events, except `invalid_span` (in spans). */
export type CifDropReason =
  | 'missing_identity'
  | 'identity_too_long'
  | 'missing_kpi_name'
  | 'invalid_timestamp'
  | 'invalid_span'
  | 'after_shutdown'
  | 'cif_not_loaded'
  | 'host_error';

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

/** Counters since the exporter was created; `getStats()` returns a copy. */
export interface CifExporterStats {
  /** Spans handed to `export()`. */
  spansSeen: number;
  /** Spans that carry a `cif.` attribute. */
  cifSpans: number;
  /** KPI events handed to the host in `logAnalyticsEvent` calls. */
  kpiEventsSent: number;
  /** `logAnalyticsEvent` calls made. */
  callsMade: number;
  /** Calls that failed (rejected, threw, or had no CIF library to call). */
  callsFailed: number;
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
    callsMade: 0,
    callsFailed: 0,
    callbackErrors: 0,
    dropped: {
      missing_identity: 0,
      identity_too_long: 0,
      missing_kpi_name: 0,
      invalid_timestamp: 0,
      invalid_span: 0,
      after_shutdown: 0,
      cif_not_loaded: 0,
      host_error: 0,
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
