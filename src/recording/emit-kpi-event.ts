import type { Attributes, Context, TimeInput } from '@opentelemetry/api';
import { caught, log, sayOnce } from '../log.js';
import { given, shown } from '../validate.js';
import { hrTimeToMillis } from '../mapping/kpi-events.js';
import { kpiEventAttributes, timeInput, writeKpiEvent, type CifKpiEventDetails, type WriterWarned } from './kpi-event-attributes.js';

/** The log record `emitKpiEvent` emits. */
export interface CifKpiLogRecord {
  eventName: string;
  attributes: Attributes;
  timestamp?: TimeInput;
  /** `timestamp` again where it is past what a `Date` holds, so that the exporter drops the KPI event rather than stamp it now. */
  observedTimestamp?: TimeInput;
  context?: Context;
}

/**
 * The part of a `Logger` that `emitKpiEvent` uses. The `Logger` of `@opentelemetry/api` 1.10 and
 * of `@opentelemetry/api-logs` 0.2xx satisfy it.
 */
export interface CifLogger {
  emit(logRecord: CifKpiLogRecord): void;
  /** False when the logger drops the record: no provider registered, or one shut down. */
  enabled?(logRecord: CifKpiLogRecord): boolean;
}

/** Options of `emitKpiEvent`. Every one is optional. */
export interface CifEmitKpiEventOptions {
  /**
   * When the KPI event happened: a `Date` (also one of another frame), epoch milliseconds (below
   * 1e11, before 1973, a `performance.now()` reading) or an `HrTime`; any other value is now.
   * @default now, as the logs SDK stamps it
   */
  time?: TimeInput | undefined;
  /**
   * The context to emit in: its span gives the record its trace id, so the `correlationId` it
   * shares with that span's KPI events, and its CIF session gives the ids.
   * @default the active context
   */
  context?: Context | undefined;
}

/**
 * Emits the KPI event `name` as a log-based event: a log record with `eventName` set to `name`,
 * carrying `cif.kpi.name` and the `cif.kpi.*` attributes of `details`, and no body.
 * `CifLogRecordExporter` sends it. With no logger nothing is emitted and a `diag.warn` says so.
 * Never throws.
 * @example emitKpiEvent(logger, 'CallAccepted', { notificationResponseAction: 'accepted' });
 */
export function emitKpiEvent(
  logger: CifLogger | undefined,
  name: string,
  details?: CifKpiEventDetails,
  options?: CifEmitKpiEventOptions,
): void {
  const emit = (reach: () => void): boolean => {
    if (typeof logger?.emit !== 'function') return false;
    // The logs SDK reads `context`, `timestamp`, `observedTimestamp`, ... of the record, then of its own copy, through
    // their prototype chain, where a page library may have added them to Object.prototype: the record has no prototype,
    // and its times are its own, also when not given.
    const record: CifKpiLogRecord = Object.assign(Object.create(null) as CifKpiLogRecord, {
      eventName: name,
      attributes: kpiEventAttributes(name, details),
      timestamp: undefined,
      observedTimestamp: undefined,
    });
    const time = timeInput(given(options ?? {}, 'time'));
    const context = given(options ?? {}, 'context') as Context | undefined;
    if (time !== undefined) {
      record.timestamp = time;
      // Past what a `Date` holds (`NaN`, nanoseconds), the mapping would take the observed time, now: it is that too, so that the KPI event is dropped.
      if (!(Math.abs(Array.isArray(time) ? hrTimeToMillis(time)! : +time) <= 8.64e15)) record.observedTimestamp = time;
    }
    // Null, from an untyped caller, is none: the SDK would take the session of the active context, but no trace id.
    if (context != null) record.context = context;
    reach();
    // A logger that emits asynchronously may fail after emit() returned.
    caught(logger.emit(record), (error) => log('error', `KPI event '${shown(name)}' may not be emitted`, error));
    if (!isEnabled(logger, record)) {
      sayOnce(
        warned,
        'lost',
        `KPI event '${shown(name)}' lost: its logger is not enabled`,
        ': no LoggerProvider is registered, or it is shut down or filters the record out. Shown once.',
      );
    }
    return true;
  };
  writeKpiEvent(name, emit, 'emitted', 'there is no logger to emit it with', warned);
}

/** Whether the logger keeps the record; one that cannot say (it throws, or answers with a promise) is taken as keeping it. */
function isEnabled(logger: CifLogger, record: CifKpiLogRecord): unknown {
  try {
    if (typeof logger.enabled !== 'function') return true;
    const answer: unknown = logger.enabled(record);
    if (typeof answer === 'boolean') return answer;
    caught(answer);
  } catch {
    // Said below.
  }
  return true;
}

const warned: WriterWarned = {};
