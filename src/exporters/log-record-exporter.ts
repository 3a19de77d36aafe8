import {
  createLogRecordMappingStats,
  defaultLogRecordCorrelationId,
  defaultLogRecordFilter,
  logRecordsToCalls,
  type LogRecordMappingStats,
} from '../mapping/log-records.js';
import { normalizeOptions, type CifExporterOptions, type NormalizedOptions } from '../options.js';
import type { CifLogRecordExporterStats } from '../stats.js';
import type { CifKpiEvent, CifReadableLogRecord } from '../types.js';
import { KpiEventExporter, type Source } from './kpi-exporter.js';

/** Options of `CifLogRecordExporter`. Every one is optional. */
export interface CifLogRecordExporterOptions extends CifExporterOptions {
  /**
   * The `eventName` argument of each call.
   * @default (kpiEvent) => kpiEvent.kpiEventName
   */
  eventName?: ((kpiEvent: CifKpiEvent, record: CifReadableLogRecord) => string) | undefined;
  /**
   * Which log-based events become KPI events. Yours replaces the whole default.
   * @default every event except, unless the record carries a `cif.kpi.` attribute: the
   * OpenTelemetry `exception` event and the records of scopes starting `@opentelemetry/instrumentation-`
   */
  eventFilter?: ((record: CifReadableLogRecord) => boolean) | undefined;
  /**
   * The `correlationId` argument of each call; an answer over 100 characters counts in `callbackErrors` and gets the default.
   * @default the trace id of the record's span context as a GUID; outside any trace, a UUID
   * named by the record's conversation and provider session (v5), one per pair
   */
  correlationId?: ((record: CifReadableLogRecord) => string) | undefined;
}

type LogRecordOptions = NormalizedOptions<CifReadableLogRecord, (record: CifReadableLogRecord) => boolean>;

const LOG_RECORDS: Source<CifReadableLogRecord, LogRecordOptions, LogRecordMappingStats> = {
  name: 'CifLogRecordExporter',
  eventFilter: defaultLogRecordFilter,
  correlationId: defaultLogRecordCorrelationId,
  map: logRecordsToCalls,
  warnings: {
    'dropped.missing_kpi_name': 'KPI events dropped: a log record has a cif.kpi.name or eventName that is empty or cannot be read.',
    'dropped.invalid_log_record': 'A log record that is not a ReadableLogRecord was skipped.',
    'droppedFields.sdk_attribute_limit': 'Fields lost: the SDK dropped log record attributes over logRecordLimits.attributeCountLimit.',
  },
};

/**
 * An OpenTelemetry `LogRecordExporter` that turns log-based events into
 * `Microsoft.CIFramework.logAnalyticsEvent` calls, by the rules of `CifSpanExporter`. A log record
 * is a KPI event when it carries a `cif.` attribute (`CifSessionLogRecordProcessor` stamps them)
 * and has `cif.kpi.name` or an `eventName`; other records are ignored, and no record's body is sent.
 */
export class CifLogRecordExporter extends KpiEventExporter<
  CifReadableLogRecord,
  LogRecordOptions,
  LogRecordMappingStats,
  CifLogRecordExporterStats
> {
  /** Throws a `TypeError` when an option is invalid; nothing after construction throws. */
  constructor(options?: CifLogRecordExporterOptions) {
    super(
      LOG_RECORDS,
      normalizeOptions(options, LOG_RECORDS),
      createLogRecordMappingStats(),
    );
  }
}
