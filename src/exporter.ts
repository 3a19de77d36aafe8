import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { CifDelivery, type DeliveryReport } from './delivery.js';
import { CifShutdownError } from './errors.js';
import { normalizeOptions, type CifSpanExporterOptions, type NormalizedOptions } from './options.js';
import { copyStats, createStats, type CifDropReason, type CifExporterStats } from './stats.js';
import { spansToCalls } from './transform.js';
import type { CifCall, CifReadableSpan } from './types.js';

const WARNINGS: Partial<Record<CifDropReason, string>> = {
  missing_identity:
    'KPI events dropped: a CIF span has no conversation id or provider session id. Set cif.conversation.id ' +
    'and cif.provider_session.id on the span or the resource, or pass the exporter a `session`.',
  identity_too_long: 'KPI events dropped: a CIF id is longer than its 100-character Dataverse column.',
  missing_kpi_name: 'KPI events dropped: a span event has an empty name and no cif.kpi.name.',
  invalid_timestamp: 'KPI events dropped: a span event has a time that is not a valid date.',
  invalid_span: 'A span could not be read and was skipped: it is not an OpenTelemetry ReadableSpan.',
};

/**
 * An OpenTelemetry `SpanExporter` that turns spans carrying `cif.*` attributes into
 * `Microsoft.CIFramework.logAnalyticsEvent` calls. Other spans are ignored.
 */
export class CifSpanExporter {
  private readonly options: NormalizedOptions;
  private readonly stats = createStats();
  private readonly delivery: CifDelivery;
  private readonly log = diag.createComponentLogger({ namespace: 'opentelemetry-exporter-cif' });
  private readonly warned = new Set<CifDropReason>();

  /** Throws a `TypeError` when an option is invalid; nothing after construction throws. */
  constructor(options?: CifSpanExporterOptions) {
    this.options = normalizeOptions(options);
    this.delivery = new CifDelivery(this.options, this.stats);
  }

  /**
   * Maps the spans and hands the calls to delivery; `resultCallback` runs once, when every call
   * has settled. Safe to call again before earlier exports have settled.
   */
  export(spans: CifReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    let calls: CifCall[];
    try {
      this.stats.spansSeen += spans.length;
      calls = spansToCalls(spans, this.options, this.stats);
      this.warnOnce();
    } catch (error) {
      // Only reachable when `spans` itself is not an array.
      this.report(resultCallback, { code: ExportResultCode.FAILED, error: error as Error });
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
   * retried, failed, timed out, queued and in flight, and what was dropped or cut, by reason.
   */
  getStats(): CifExporterStats {
    return copyStats(this.stats);
  }

  private report(resultCallback: (result: ExportResult) => void, result: ExportResult): void {
    try {
      resultCallback(result);
    } catch (error) {
      this.log.error('export result callback threw', error);
    }
  }

  private warnOnce(): void {
    for (const reason of Object.keys(WARNINGS) as CifDropReason[]) {
      if (this.stats.dropped[reason] === 0 || this.warned.has(reason)) continue;
      this.warned.add(reason);
      this.log.warn(`${WARNINGS[reason]} Counted in getStats().dropped.${reason}; this warning is shown once.`);
    }
  }
}

function summarize({ calls, failed, errors }: DeliveryReport): Error {
  return new Error(`${failed} of ${calls} logAnalyticsEvent calls failed: ${errors.map((e) => e.message).join('; ')}`);
}
