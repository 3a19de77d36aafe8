import type { ExportResult } from '@opentelemetry/core';
import { createSharedDelivery } from '../delivery/cif-delivery.js';
import { summarize, type DeliveryReport } from '../delivery/report.js';
import { CifShutdownError } from '../errors.js';
import { caught, log, sayOnce, type Warned } from '../log.js';
import type { Cursor } from '../mapping/calls.js';
import type { MappingWarn } from '../mapping/kpi-events.js';
import { copied } from '../mapping/values.js';
import type { NormalizedOptions, SourceDefaults } from '../options.js';
import { copyStats, type CifMappingStats } from '../stats.js';
import type { CifCall } from '../types.js';
import { hiding, inNextTask, listen, mapAll, unmapped } from './in-parts.js';

/** What an exporter knows of its source: its defaults, how to map a batch, and what to tell the user. */
export interface Source<S, O extends NormalizedOptions<S, unknown>, M> extends SourceDefaults<S, O['eventFilter']> {
  map(items: readonly S[], options: O, stats: M, warn: MappingWarn, cursor?: Cursor): CifCall[];
  /** Warnings by counter (`dropped.invalid_span`, ...), for the counters only this source has. */
  readonly warnings: Readonly<Record<string, string>>;
}

/**
 * What every CIF exporter does around its source's mapping: hands the calls to its delivery,
 * reports once per export, shuts down, counts and warns. `S` is the source item, `T` the stats
 * `getStats()` returns.
 */
export class KpiEventExporter<S, O extends NormalizedOptions<S, unknown>, M extends CifMappingStats<string>, T> {
  /** The work of each method, made in the constructor as closures over what they share. */
  private readonly run: {
    export: (items: S[], resultCallback: (result: ExportResult) => void) => void;
    flush: () => Promise<void>;
    shutdown: () => Promise<void>;
    stats: () => T;
  };

  constructor(source: Source<S, O, M>, options: O, stats: M) {
    const { name } = source;
    const delivery = options.delivery ?? createSharedDelivery(options);
    const { engine } = delivery;
    let closing: Promise<void> | undefined;
    delivery.users++;
    if (engine.isClosed) log('warn', `${name}: its CifDelivery is shut down, so every export is refused (dropped.after_shutdown).`);
    // Each counter of drops and cuts warns once per exporter when it moves, with its message: from
    // this table and the source's, from the mapping for what only it can detail (before it is looked for here),
    // and one for every `truncated.*` counter. Later moves are told again at DEBUG.
    const warnings: Record<string, string> = {
      'droppedFields.unserializable_value': 'A field was left out: its value cannot be read or written as JSON.',
      ...source.warnings,
    };
    const warned: Warned = {};
    // Each counter as the last look after an export left it; a warning from the mapping sets it to
    // Infinity, so that the look after this export does not warn of it again.
    const counts: Record<string, number> = {};
    const warn = (counter: string, message = warnings[counter] ?? 'A value was cut to its Dataverse column size.'): void => {
      counts[counter] = Infinity;
      sayOnce(warned, counter, `${message} Counted in getStats().${counter}`, '; shown once.');
    };

    /** Counts what the mapping of a batch dropped or cut, once it is all mapped, and warns of what it had not. */
    const counted = (): void => {
      // Own keys only: a page's library may add enumerable keys to Object.prototype.
      for (const [group, counters] of Object.entries(stats) as [string, number | Record<string, number>][]) {
        // Groups of counters; the counters on their own (spansSeen, callbackErrors) warn from the mapping or not at all.
        if (typeof counters === 'object') {
          for (const [reason, count] of Object.entries(counters)) {
            const counter = `${group}.${reason}`;
            if (count > (counts[counter] ?? 0)) warn(counter);
            counts[counter] = count;
          }
        }
      }
    };
    this.run = {
      export: (items, resultCallback) => {
        let batch: S[];
        try {
          batch = copied(items);
        } catch {
          // Only reachable when `items` itself cannot be iterated.
          return report(resultCallback, new TypeError(`${name}: export() needs an array`));
        }
        if (closing || engine.isClosed) {
          const error = new CifShutdownError(`${closing ? name : 'its CifDelivery'} is shut down`);
          const calls = source.map(batch, options, stats, warn);
          counted();
          void engine.deliver(calls, error); // Refused there with this error, and counted in dropped.after_shutdown.
          return report(resultCallback, error);
        }
        // A large batch is mapped in parts, a task each, so that the page is never held for long: first what the host
        // takes at once, then eight times that a part, or as much as the first where an outbox writes each call that
        // waits (a write to a page's Web Storage costs more than mapping the call); the rest at once should the page hide or go.
        const first = delivery.slots * options.maxEventsPerCall;
        const cursor: Cursor = { at: 0, limit: first };
        const reports: Array<Promise<DeliveryReport>> = [];
        /** Whether a part is being mapped: one asked for within it (by a callback that flushes) is the rest of that one. */
        let mapping = false;
        /** Maps the next part, or ends the export after the last: once the calls of every part have settled or are kept. */
        const step = (): void => {
          mapping = true;
          const calls = source.map(batch, options, stats, warn, cursor);
          mapping = false;
          cursor.limit = delivery.outbox ? first : 8 * first;
          reports.push(engine.deliver(calls));
          if (cursor.at < batch.length) {
            // While a part waits for its task, the page's hiding maps it at once; a page that will not say maps it now.
            try {
              if (listen(true)) return inNextTask(() => unmapped.has(finish) && step());
            } catch {
              // No task to be had.
            }
            finish();
          } else if (unmapped.delete(finish)) {
            // No listener is left on the page once no batch waits, and the batch goes: its calls are all that is kept.
            if (!unmapped.size) listen(false);
            batch.length = 0;
            counted();
            // A microtask later, so that a part under way when a flush within it mapped the rest pushes its report first.
            void Promise.resolve()
              .then(() => Promise.all(reports))
              .then((all) => report(resultCallback, summarize(all)));
          }
        };
        /** Maps the rest at once; within a part being mapped, the part takes the rest, and it says so. */
        const finish = (): boolean => {
          cursor.limit = Infinity;
          if (!mapping) step();
          return mapping;
        };
        unmapped.add(finish);
        if (hiding()) cursor.limit = Infinity;
        step();
      },
      flush: () => when(mapAll(), () => engine.flush()),
      shutdown: () => {
        const busy = mapAll();
        return (closing ??= when(busy, () => (--delivery.users === 0 ? engine.shutdown() : engine.flush(delivery.timeoutMillis))));
      },
      stats: () => copyStats(stats, delivery.stats) as unknown as T,
    };
  }

  /**
   * Maps the batch and hands the calls to delivery, a large batch in parts, a task each (the rest
   * at once should the page hide or go); `resultCallback` runs once, after the last part, when
   * every call has settled or is kept in the outbox for a later page. Safe to call again before
   * earlier exports have settled.
   */
  export(items: S[], resultCallback: (result: ExportResult) => void): void {
    this.run.export(items, resultCallback);
  }

  /**
   * Maps at once the rest of every batch still mapped in parts, then resolves when every call
   * queued or in flight in its delivery has settled or is kept in the outbox, or every slot is
   * held by a timed-out call the host never answered. Never rejects.
   */
  forceFlush(): Promise<void> {
    return this.run.flush();
  }

  /**
   * Maps at once the rest of every batch still mapped in parts, and refuses further exports.
   * When no other exporter shares its delivery, waits up to `timeoutMillis` for calls queued or
   * in flight, then fails the rest (`dropped.after_shutdown`) but those the outbox keeps for a
   * later page (`kpiEventsKept`); else waits up to `timeoutMillis` as `forceFlush()` does.
   * Resolves even if the host never answers; a second call returns the first one's promise.
   */
  shutdown(): Promise<void> {
    return this.run.shutdown();
  }

  /**
   * A copy of the counters: what the mapping saw, sent and dropped, and the counters of its
   * delivery: KPI events delivered, pending and kept in the outbox for a later page, calls made,
   * retried, failed, timed out, queued, in flight and abandoned, what was dropped or cut, by
   * reason, and the outbox's own (`outbox.*`).
   */
  getStats(): T {
    return this.run.stats();
  }
}

/**
 * Asks the delivery at once; or, `busy` (called from within a part being mapped, which maps the rest as it returns), a
 * microtask later, once that part's calls are admitted: after a bare `await`, which no page's `then` can change.
 */
async function when(busy: boolean, ask: () => Promise<void>): Promise<void> {
  if (busy) await 0;
  return ask();
}

/** Tells the SDK the export succeeded, or failed with `error`, by `ExportResultCode`'s numbers: 0 SUCCESS, 1 FAILED (core 2.x and 3.x). */
function report(resultCallback: (result: ExportResult) => void, error?: Error): void {
  const threw = (reason: unknown): void => log('error', 'export result callback threw', reason);
  try {
    // An async callback's rejection too, which would else be left unhandled in the page.
    caught(resultCallback(error ? { code: 1, error } : { code: 0 }), threw);
  } catch (reason) {
    threw(reason);
  }
}
