import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { share, sharedDelivery, type SharedDelivery } from '../delivery/cif-delivery.js';
import { summarize } from '../delivery/report.js';
import { CifShutdownError, toError } from '../errors.js';
import { log } from '../log.js';
import type { MappingWarn } from '../mapping/kpi-events.js';
import type { NormalizedOptions, SourceDefaults } from '../options.js';
import { copyStats, type CifMappingStats } from '../stats.js';
import type { CifCall } from '../types.js';

/** What an exporter knows of its source: its defaults, how to map a batch, and what to tell the user. */
export interface Source<S, O extends NormalizedOptions<S, unknown>, M> extends SourceDefaults<S, O['eventFilter']> {
  map(items: readonly S[], options: O, stats: M, warn: MappingWarn): CifCall[];
  /** Warnings by counter (`dropped.invalid_span`, ...), for the counters only this source has. */
  readonly warnings: Readonly<Record<string, string>>;
  /** Where to look when a source has no CIF identity. */
  readonly missingIdentityCauses: string;
}

const WARNINGS: Readonly<Record<string, string>> = {
  'dropped.identity_too_long': 'KPI events dropped: a CIF id is longer than its 100-character Dataverse column.',
  'droppedFields.unserializable_value': 'A field was left out: its value could not be read or written as JSON.',
};

/**
 * What every CIF exporter does around its source's mapping: hands the calls to its delivery,
 * reports once per export, shuts down, counts and warns. `S` is the source item, `T` the stats
 * `getStats()` returns.
 */
export class KpiEventExporter<S, O extends NormalizedOptions<S, unknown>, M extends CifMappingStats<string>, T> {
  private readonly delivery: SharedDelivery;
  private closing: Promise<void> | undefined;
  /** The counters already warned about, each once per exporter. */
  private readonly warned = new Set<string>();
  private readonly warnMapping: MappingWarn;
  /** `[counter, message]` for each counter that warns when it moves, made once. */
  private readonly warnings: Array<[string, string]>;
  private readonly warnOnce = (counter: string, message: string): void => {
    if (this.warned.has(counter)) return;
    this.warned.add(counter);
    log('warn', `${message} Counted in getStats().${counter}; shown once.`);
  };

  constructor(
    private readonly source: Source<S, O, M>,
    private readonly options: O,
    private readonly mappingStats: M,
  ) {
    this.delivery = options.delivery !== undefined ? sharedDelivery(options.delivery, `${source.name}: option`) : share(options);
    this.delivery.users++;
    if (this.delivery.engine.isClosed) log('warn', `${source.name}: its CifDelivery is shut down, so every export is refused (dropped.after_shutdown).`);
    this.warnings = Object.entries({ ...WARNINGS, ...source.warnings });
    this.warnMapping = (reason, detail) =>
      reason === 'invalid_custom_column'
        ? this.warnOnce(`droppedFields.${reason}`, `customData left out: ${detail}, such as msdyn_customattribute1.`)
        : this.warnOnce(`dropped.${reason}`, `KPI events dropped: ${detail}. ${source.missingIdentityCauses}`);
  }

  /**
   * Maps the batch and hands the calls to delivery; `resultCallback` runs once, when every call
   * has settled. Safe to call again before earlier exports have settled.
   */
  export(items: S[], resultCallback: (result: ExportResult) => void): void {
    let calls: CifCall[];
    try {
      calls = this.source.map(items, this.options, this.mappingStats, this.warnMapping);
      warnCounters(this.mappingStats, this.warnings, this.warnOnce);
    } catch (error) {
      // Only reachable when `items` itself cannot be iterated.
      report(resultCallback, { code: ExportResultCode.FAILED, error: toError(error) });
      return;
    }
    const { engine } = this.delivery;
    if (this.closing || engine.isClosed) {
      void engine.deliver(calls, true); // Refused there, and counted in dropped.after_shutdown.
      const what = this.closing ? this.source.name : 'its CifDelivery';
      report(resultCallback, { code: ExportResultCode.FAILED, error: new CifShutdownError(`${what} is shut down`) });
      return;
    }
    void engine.deliver(calls).then((outcome) =>
      report(
        resultCallback,
        outcome.failed === 0 ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error: summarize(outcome) },
      ),
    );
  }

  /** Resolves when every call queued or in flight in its delivery has settled. Never rejects. */
  forceFlush(): Promise<void> {
    return this.delivery.engine.flush();
  }

  /**
   * Refuses further exports, waits up to `timeoutMillis` for calls queued or in flight, then,
   * when no other exporter shares its delivery, fails the rest (`dropped.after_shutdown`).
   * Resolves even if the host never answers; a second call returns the first one's promise.
   */
  shutdown(): Promise<void> {
    if (!this.closing) {
      const delivery = this.delivery;
      this.closing = --delivery.users === 0 ? delivery.engine.shutdown() : delivery.engine.flush(delivery.timeoutMillis);
    }
    return this.closing;
  }

  /**
   * A copy of the counters: what the mapping saw, sent and dropped, and the counters of its
   * delivery: KPI events delivered and pending, calls made, retried, failed, timed out, queued,
   * in flight and abandoned, and what was dropped or cut, by reason.
   */
  getStats(): T {
    return copyStats(this.mappingStats, this.delivery.stats) as unknown as T;
  }

}

function report(resultCallback: (result: ExportResult) => void, result: ExportResult): void {
  try {
    resultCallback(result);
  } catch (error) {
    log('error', 'export result callback threw', error);
  }
}

/** Warns once about each counter that moved, saying what to change. */
function warnCounters(
  stats: CifMappingStats<string>,
  warnings: ReadonlyArray<[string, string]>,
  warnOnce: (counter: string, message: string) => void,
): void {
  const groups = stats as unknown as Record<string, Record<string, number>>;
  for (const [counter, message] of warnings) {
    const [group, reason] = counter.split('.') as [string, string];
    if (groups[group]![reason]! > 0) warnOnce(counter, message);
  }
  for (const [field, count] of Object.entries(stats.truncated)) {
    if (count > 0) warnOnce(`truncated.${field}`, `${field} was cut to its Dataverse column size.`);
  }
  if (stats.callbackErrors > 0) {
    warnOnce('callbackErrors', 'An eventFilter, eventName or correlationId callback failed; its default was used.');
  }
}
