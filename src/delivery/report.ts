import { CifExportError } from '../errors.js';
import { MAX_TIMER_MILLIS, startTimer, stopTimer, type Timer } from './timers.js';

/** How the calls of one `deliver()` ended. */
export interface DeliveryReport {
  /** Calls handed to `deliver()`. */
  calls: number;
  /** Calls that failed for good. */
  failed: number;
  /** One error per distinct failure message, at most three, first seen first. */
  errors: Error[];
}

/**
 * Counts one call of a `deliver()`, failed with `error` or done without: delivered, or kept in the
 * outbox for a later page. Counts only, so a batch's size costs nothing.
 */
export type Batch = (error?: Error) => void;

/** The `error` of an export whose calls `reports` tell of, when one failed: how many calls failed, and the distinct reasons. */
export function summarize(reports: readonly DeliveryReport[]): CifExportError | undefined {
  let calls = 0;
  let failed = 0;
  const errors: Error[] = [];
  for (const report of reports) {
    calls += report.calls;
    failed += report.failed;
    for (const error of report.errors) addError(errors, error);
  }
  if (failed) return new CifExportError(`${failed} of ${calls} logAnalyticsEvent calls failed: ${errors.map((e) => e.message).join('; ')}`, errors);
}

/** Adds `error` to `errors` unless one with its message is there, or three are. */
function addError(errors: Error[], error: Error): void {
  if (errors.length < 3 && !errors.some((e) => e.message === error.message)) errors.push(error);
}

/**
 * The batches of one engine until their last call settles, holding each one's promise alone, not
 * its calls, so that `flush()` can wait for them.
 */
export function createBatches() {
  const open = new Set<Promise<DeliveryReport>>();
  return {
    /** A batch of `calls` calls, and the promise its last call resolves. */
    open(calls: number): [Batch, Promise<DeliveryReport>] {
      const report: DeliveryReport = { calls, failed: 0, errors: [] };
      let pending = calls;
      let resolve!: (report: DeliveryReport) => void;
      const done = new Promise<DeliveryReport>((r) => (resolve = r));
      if (calls === 0) resolve(report);
      else open.add(done);
      const count: Batch = (error) => {
        if (error) {
          report.failed++;
          addError(report.errors, error);
        }
        // The last call closes the batch and resolves it.
        if (--pending === 0) {
          open.delete(done);
          resolve(report);
        }
      };
      return [count, done];
    },
    /**
     * Resolves once every batch open now is done (or `until` resolves), `or` resolves, or after
     * `timeoutMillis`. In Node it keeps the process alive meanwhile: the caller is waiting, and the
     * wait is bounded. Without a timer no call can be at the host (the engine gives them up), so
     * the calls alone bound the wait.
     */
    async flush(timeoutMillis = MAX_TIMER_MILLIS, until: Promise<unknown> | false = open.size > 0 && Promise.all([...open]), or?: Promise<unknown>): Promise<void> {
      if (!until) return;
      let keepAlive: Timer | undefined;
      const timeUp = new Promise<void>((resolve) => {
        try {
          keepAlive = startTimer(resolve, timeoutMillis, true);
        } catch {
          // Waits for the calls alone.
        }
      });
      // None of them rejects, so the timer is stopped once one resolves.
      await Promise.race([until, timeUp, or ?? until]);
      stopTimer(keepAlive);
    },
  };
}
