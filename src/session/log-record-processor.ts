import type { Context } from '@opentelemetry/api';
import { sayOnce, type Warned } from '../log.js';
import { mappedLogRecords } from '../mapping/log-records.js';
import { stampSession } from './stamp.js';

/**
 * The parts of a log record being emitted that the processor uses. The SDK's `ReadWriteLogRecord`
 * (`@opentelemetry/sdk-logs` 0.2xx and 3.x) satisfies it.
 */
export interface CifEmittingLogRecord {
  readonly attributes: { readonly [key: string]: unknown };
  setAttribute(key: string, value: string): unknown;
}

/**
 * A `LogRecordProcessor` that stamps the CIF session of the emit context (see `withCifSession`)
 * onto every log record: `cif.conversation.id`, `cif.provider_session.id`,
 * `cif.client_session.id` and `cif.participant.id`. An id the record already has is kept, unless empty.
 * Register it before the processor of `CifLogRecordExporter`, so that a `SimpleLogRecordProcessor`
 * exports the record stamped; it exports nothing itself.
 * @example new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new BatchLogRecordProcessor({ exporter: new CifLogRecordExporter() })] })
 */
export class CifSessionLogRecordProcessor {
  onEmit(logRecord: CifEmittingLogRecord, emitContext?: Context): void {
    // A record a `CifLogRecordExporter` mapped already, as a processor before this one exported it, went without these ids.
    if (stampSession(logRecord, emitContext, 'log record') && mappedLogRecords.has(logRecord)) {
      sayOnce(
        warnedLate,
        'late',
        "CifSessionLogRecordProcessor stamped the CIF session on a log record already exported without it, so it was mapped without the call's ids: as no KPI event, dropped (missing_identity), or sent with the ids of its resource or the session option. Register CifSessionLogRecordProcessor before the processor of CifLogRecordExporter",
        '. Shown once.',
      );
    }
  }

  /** False: it exports nothing, so it leaves the logger's `enabled()` to the processors that do. */
  enabled(): boolean {
    return false;
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}

/** Whether a record stamped after its export was warned of. */
const warnedLate: Warned = {};
