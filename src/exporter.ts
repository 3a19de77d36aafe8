import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { createDelivery, type CifDelivery } from './delivery.js';
import { summarize } from './delivery-report.js';
import { CifShutdownError, toError } from './errors.js';
import { log } from './log.js';
import { normalizeOptions, type CifSpanExporterOptions, type NormalizedOptions } from './options.js';
import { copyStats, createStats, type CifDropReason, type CifDroppedFieldReason, type CifExporterStats } from './stats.js';
import { spansToCalls } from './transform.js';
import type { CifCall, CifReadableSpan } from './types.js';

const DROP_WARNINGS: Partial<Record<CifDropReason, string>> = {
  sdk_event_limit:
    'KPI events lost: the SDK dropped events of a CIF span over spanLimits.eventCountLimit (128 by default). ' +
    'Raise it, or put long series of KPI events on shorter spans.',
  identity_too_long: 'KPI events dropped: a CIF id is longer than its 100-character Dataverse column.',
  missing_kpi_name: 'KPI events dropped: a span event has an empty name and no cif.kpi.name.',
  invalid_timestamp: 'KPI events dropped: a span event has a time that is not a valid date.',
  invalid_span: 'A span could not be read and was skipped: it is not an OpenTelemetry ReadableSpan.',
};

const FIELD_WARNINGS: Record<CifDroppedFieldReason, string> = {
  invalid_custom_column: 'customData left out: a cif.kpi.custom.* key names no column, such as msdyn_customattribute1.',
  unserializable_value: 'A field was left out: its value could not be read or written as JSON.',
  sdk_attribute_limit: 'Fields may be missing: the SDK dropped attributes of a CIF span over spanLimits.attributeCountLimit. Raise it.',
};

const MISSING_IDENTITY_CAUSES =
  'Likely causes: no CifSessionSpanProcessor, the CIF session lost after an await (see docs/session-context.md), or no `session` option.';

/**
 * An OpenTelemetry `SpanExporter` that turns spans carrying `cif.*` attributes into
 * `Microsoft.CIFramework.logAnalyticsEvent` calls. Other spans are ignored.
 */
export class CifSpanExporter {
  private readonly options: NormalizedOptions;
  private readonly stats = createStats();
  private readonly delivery: CifDelivery;
  /** The counters already warned about, each once per exporter. */
  private readonly warned = new Set<string>();
  private readonly warnMapping = (reason: CifDropReason, detail: string): void =>
    this.warnOnce(`dropped.${reason}`, `KPI events dropped: ${detail}. ${MISSING_IDENTITY_CAUSES}`);

  /** Throws a `TypeError` when an option is invalid; nothing after construction throws. */
  constructor(options?: CifSpanExporterOptions) {
    this.options = normalizeOptions(options);
    this.delivery = createDelivery(this.options, this.stats);
  }

  /**
   * Maps the spans and hands the calls to delivery; `resultCallback` runs once, when every call
   * has settled. Safe to call again before earlier exports have settled.
   */
  export(spans: CifReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    let calls: CifCall[];
    try {
      calls = spansToCalls(spans, this.options, this.stats, this.warnMapping);
      this.warnCounters();
    } catch (error) {
      // Only reachable when `spans` itself cannot be iterated.
      this.report(resultCallback, { code: ExportResultCode.FAILED, error: toError(error) });
      return;
    }
    if (this.delivery.isClosed) {
      void this.delivery.deliver(calls); // Refused there, and counted in dropped.after_shutdown.
      this.report(resultCallback, { code: ExportResultCode.FAILED, error: new CifShutdownError() });
      return;
    }
    void this.delivery.deliver(calls).then((report) =>
      this.report(
        resultCallback,
        report.failed === 0 ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error: summarize(report) },
      ),
    );
  }

  /** Resolves when every call queued or in flight has settled. Never rejects. */
  forceFlush(): Promise<void> {
    return this.delivery.flush();
  }

  /**
   * Refuses further exports, waits up to `timeoutMillis` for calls queued or in flight, then
   * fails the rest (`dropped.after_shutdown`). Resolves even if the host never answers; a second
   * call returns the first one's promise.
   */
  shutdown(): Promise<void> {
    return this.delivery.shutdown();
  }

  /**
   * A copy of the counters: spans seen, KPI events sent, delivered and pending, calls made,
   * retried, failed, timed out, queued, in flight and abandoned, and what was dropped or cut, by reason.
   */
  getStats(): CifExporterStats {
    return copyStats(this.stats);
  }

  private report(resultCallback: (result: ExportResult) => void, result: ExportResult): void {
    try {
      resultCallback(result);
    } catch (error) {
      log('error', 'export result callback threw', error);
    }
  }

  /** Warns once about each counter that moved, saying what to change. */
  private warnCounters(): void {
    const { dropped, droppedFields, truncated, callbackErrors } = this.stats;
    for (const [reason, message] of Object.entries(DROP_WARNINGS)) {
      if (dropped[reason as CifDropReason] > 0) this.warnOnce(`dropped.${reason}`, message);
    }
    for (const [reason, message] of Object.entries(FIELD_WARNINGS)) {
      if (droppedFields[reason as CifDroppedFieldReason] > 0) this.warnOnce(`droppedFields.${reason}`, message);
    }
    for (const [field, count] of Object.entries(truncated)) {
      if (count > 0) this.warnOnce(`truncated.${field}`, `${field} was cut to its Dataverse column size.`);
    }
    if (callbackErrors > 0) {
      this.warnOnce('callbackErrors', 'An eventFilter, eventName or correlationId callback failed; its default was used.');
    }
  }

  private warnOnce(counter: string, message: string): void {
    if (this.warned.has(counter)) return;
    this.warned.add(counter);
    log('warn', `${message} Counted in getStats().${counter}; shown once.`);
  }
}
