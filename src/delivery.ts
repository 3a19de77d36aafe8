import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { CifNotLoadedError, CifQueueFullError, CifShutdownError, CifTimeoutError, toError } from './errors.js';
import { log } from './log.js';
import { CifReadiness, type ReadinessSource } from './readiness.js';
import { backoffMillis, type RetryPolicy } from './retry.js';
import type { CifExporterStats, DeliveryDropReason } from './stats.js';
import { MAX_TIMER_MILLIS, startTimer, type Timer } from './timers.js';
import type { CifAnalyticsClient, CifCall } from './types.js';

/** What the engine needs from the exporter's options, already validated. */
export interface DeliveryOptions {
  getClient: () => CifAnalyticsClient | undefined;
  readiness: ReadinessSource;
  dataFormat: 'object' | 'json';
  readyTimeoutMillis: number;
  timeoutMillis: number;
  retry: RetryPolicy;
  maxConcurrentCalls: number;
  maxQueueSize: number;
  /** Source of backoff jitter; `Math.random` unless pinned. */
  random?: () => number;
}

/** The counters delivery updates. */
export type DeliveryStats = Pick<
  CifExporterStats,
  | 'kpiEventsSent'
  | 'kpiEventsDelivered'
  | 'kpiEventsPending'
  | 'callsMade'
  | 'callsRetried'
  | 'callsFailed'
  | 'callsTimedOut'
  | 'callsQueued'
  | 'callsInFlight'
  | 'callsAbandoned'
  | 'dropped'
>;

/** Where a call is: waiting (for CIF, a slot or a retry), at the host, or done. */
type JobState = 'waiting' | 'backoff' | 'in_flight' | 'settled';

/** How the calls of one `deliver()` ended. */
export interface DeliveryReport {
  /** Calls handed to `deliver()`. */
  calls: number;
  /** Calls that failed for good. */
  failed: number;
  /** One error per distinct failure message, at most three, first seen first. */
  errors: Error[];
}

/** One `deliver()` until its last call settles: counts only, so a batch's size costs nothing. */
interface Batch {
  readonly report: DeliveryReport;
  pending: number;
  readonly resolve: (report: DeliveryReport) => void;
}

const MAX_REPORTED_ERRORS = 3;

/** How long the host itself lets a call run (CIF docs): a timed-out call may hold its slot until then. */
export const HOST_TIMEOUT_MILLIS = 100_000;

interface Job {
  readonly call: CifCall;
  readonly events: number;
  readonly batch: Batch;
  /** When a call still waiting for CIF gives up (epoch millis): from its admission, then from its first attempt. */
  readyBy: number;
  state: JobState;
  /** Attempts spent; one that failed before `CIFInitDone` is given back. */
  attempts: number;
  /** Whether the host was called for it yet, so that later calls count as retries. */
  called: boolean;
  /** The timeout of the attempt in flight, or the backoff before the next one. */
  timer: Timer | undefined;
  /** The attempt in flight, cut loose when the job settles so a silent host cannot hold the job. */
  attempt: AttemptRef | undefined;
}

/** Links a host answer to its job until the job stops caring (timeout, shutdown). */
interface AttemptRef {
  job: Job | undefined;
  /** Set while the attempt timed out and may still run at the host, holding its slot. */
  hold: Timer | undefined;
}

interface Failure {
  reason: DeliveryDropReason;
  error: Error;
}

/**
 * The delivery engine: admits calls into a bounded queue, holds them until CIF is ready, runs
 * at most `maxConcurrentCalls` at a time, times each out, retries rejections with backoff, and
 * settles every call exactly once as delivered or dropped for a counted reason.
 */
export class CifDelivery {
  /** Calls waiting for CIF, oldest first; at most `maxQueueSize`, so shifting the array stays cheap. */
  private waiting: Job[] = [];
  /** Calls whose backoff is over; they go before new calls. */
  private readonly retrying: Job[] = [];
  /** Every call admitted and not yet settled, in any state. */
  private readonly unsettled = new Set<Job>();
  /** One promise per `deliver()`, until it settles. */
  private readonly batches = new Set<Promise<DeliveryReport>>();
  /** Timed-out attempts that may still run at the host; each keeps its slot (see `abandon`). */
  private readonly abandoned = new Set<AttemptRef>();
  /** Shared by every call refused for a full queue: one error, however many calls. */
  private readonly queueFull: Error;
  private readonly refused = new CifShutdownError();
  private readonly readiness: CifReadiness;
  private readonly random: () => number;
  private inFlight = 0;
  private readyTimer: Timer | undefined;
  /** When `readyTimer` fires (epoch millis). */
  private readyTimerAt = 0;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly options: DeliveryOptions,
    private readonly stats: DeliveryStats,
  ) {
    this.random = options.random ?? Math.random;
    this.queueFull = new CifQueueFullError(options.maxQueueSize);
    this.readiness = new CifReadiness(options.readiness, () => this.pump());
  }

  /** True from the moment `shutdown()` is called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Hands calls to the host, starting at once what CIF readiness and free slots allow. Never
   * throws or rejects; resolves once every call has settled, saying how many failed and why.
   */
  deliver(calls: readonly CifCall[]): Promise<DeliveryReport> {
    const report: DeliveryReport = { calls: calls.length, failed: 0, errors: [] };
    if (calls.length === 0) return Promise.resolve(report);
    let resolve!: (report: DeliveryReport) => void;
    const done = new Promise<DeliveryReport>((r) => (resolve = r));
    const batch: Batch = { report, pending: calls.length, resolve };
    for (const call of calls) this.submit(call, batch);
    this.track(done);
    return done;
  }

  /**
   * Keeps `done` for `flush()` until it settles. A function of its own, so that the closure
   * living as long as the batch does not also keep the batch's calls reachable.
   */
  private track(done: Promise<DeliveryReport>): void {
    this.batches.add(done);
    void done.then(() => this.batches.delete(done));
  }

  /**
   * Resolves once every call handed to `deliver()` so far has settled. In Node it keeps the
   * process alive meanwhile, which the calls' own timers do not.
   */
  async flush(): Promise<void> {
    if (this.batches.size === 0) return;
    const keepAlive = startTimer(() => {}, MAX_TIMER_MILLIS, true);
    try {
      await Promise.all(this.batches);
    } finally {
      clearTimeout(keepAlive);
    }
  }

  /**
   * Refuses new calls, waits up to `timeoutMillis` for the others, then fails what is left and
   * stops every timer. Resolves even if the host never answers; later calls share the first.
   */
  shutdown(): Promise<void> {
    this.closing ??= this.close();
    return this.closing;
  }

  private submit(call: CifCall, batch: Batch): void {
    const events = call.data.events.length;
    this.stats.kpiEventsSent += events;
    if (this.closed) return this.finish(batch, this.drop(events, 'after_shutdown', this.refused));
    if (this.unsettled.size - this.inFlight >= this.options.maxQueueSize) {
      return this.finish(batch, this.drop(events, 'queue_full', this.queueFull));
    }
    const job: Job = {
      call,
      events,
      batch,
      readyBy: Date.now() + this.options.readyTimeoutMillis,
      state: 'waiting',
      attempts: 0,
      called: false,
      timer: undefined,
      attempt: undefined,
    };
    this.unsettled.add(job);
    this.stats.kpiEventsPending += events;
    this.waiting.push(job);
    this.pump();
  }

  /** Counts one settled call into its batch, and resolves the batch with its last call. */
  private finish(batch: Batch, error: Error | undefined): void {
    const { report } = batch;
    if (error) {
      report.failed++;
      const known = report.errors.some((e) => e.message === error.message);
      if (!known && report.errors.length < MAX_REPORTED_ERRORS) report.errors.push(error);
    }
    if (--batch.pending === 0) batch.resolve(report);
  }

  /** Moves calls along as far as readiness and the concurrency limit allow. */
  private pump(): void {
    const readiness = this.readiness.current();
    if (readiness === 'failed') {
      this.stopReadyTimer();
      const error = this.readiness.error(this.options.readyTimeoutMillis);
      for (const job of this.waiting.splice(0)) this.settle(job, { reason: 'cif_not_loaded', error });
    }
    const ready = readiness === 'ready';
    if (ready) this.stopReadyTimer();
    // Calls due for a retry are past their wait for CIF, so they go even while others wait.
    while (this.inFlight + this.abandoned.size < this.options.maxConcurrentCalls) {
      const job = this.retrying.shift() ?? (ready ? this.waiting.shift() : undefined);
      if (!job) break;
      this.attempt(job);
    }
    if (readiness === 'waiting') this.startReadyTimer();
    this.updateGauges();
  }

  private attempt(job: Job): void {
    const client = this.options.getClient();
    if (!client) {
      // Ready by the `ready` promise, yet the default client has no library to call.
      this.settle(job, { reason: 'cif_not_loaded', error: new CifNotLoadedError() });
      return;
    }
    if (!job.called) job.readyBy = Date.now() + this.options.readyTimeoutMillis;
    else this.stats.callsRetried++;
    job.called = true;
    job.attempts++;
    job.state = 'in_flight';
    this.inFlight++;
    this.stats.callsMade++;
    const ref: AttemptRef = { job, hold: undefined };
    job.attempt = ref;
    job.timer = startTimer(() => this.timedOut(ref), this.options.timeoutMillis);
    // These handlers live as long as the host's promise, so they hold `ref` alone, not the call.
    callHost(client, job.call, this.options.dataFormat).then(
      () => this.answered(ref, undefined),
      (reason: unknown) => this.answered(ref, toError(reason)),
    );
  }

  private answered(ref: AttemptRef, error: Error | undefined): void {
    if (this.abandoned.delete(ref)) {
      clearTimeout(ref.hold);
      log('debug', 'a timed-out call answered late; its slot is free');
      this.pump();
      return;
    }
    const job = this.leaveHost(ref);
    if (!job) return;
    if (!error) {
      this.readiness.confirm();
      this.settle(job, undefined);
    } else if (!this.readiness.confirmed && Date.now() < job.readyBy) {
      // The library may still be starting: the attempt is given back and the call waits for CIFInitDone.
      job.attempts--;
      this.readiness.unready();
      this.waiting.unshift(job);
      if (job.readyBy < this.readyTimerAt) this.stopReadyTimer();
      log('debug', `call '${job.call.eventName}' failed before CIFInitDone (${error.message}); waiting for CIF again`);
    } else if (job.attempts < this.options.retry.maxAttempts) {
      this.backOff(job, error);
    } else {
      this.settle(job, { reason: 'host_error', error });
    }
    this.pump();
  }

  private timedOut(ref: AttemptRef): void {
    const job = this.leaveHost(ref);
    if (!job) return;
    this.stats.callsTimedOut++;
    this.abandon(ref);
    this.settle(job, { reason: 'timed_out', error: new CifTimeoutError(this.options.timeoutMillis) });
    this.pump();
  }

  /**
   * A timed-out call may still run at the host: it keeps its slot until the host answers it, or
   * until the host's own limit has surely passed, so calls wait instead of piling onto a host that
   * does not answer. At most `maxConcurrentCalls` are held, and shutdown lets go of them all.
   */
  private abandon(ref: AttemptRef): void {
    const millis = HOST_TIMEOUT_MILLIS - this.options.timeoutMillis;
    if (millis <= 0) return;
    this.abandoned.add(ref);
    ref.hold = startTimer(() => {
      if (this.abandoned.delete(ref)) this.pump();
    }, millis);
  }

  /** The job of an answered or timed-out attempt, once; a late answer gets `undefined`. */
  private leaveHost(ref: AttemptRef): Job | undefined {
    const { job } = ref;
    ref.job = undefined;
    if (job?.state !== 'in_flight') return undefined;
    job.attempt = undefined;
    this.inFlight--;
    clearTimeout(job.timer);
    job.timer = undefined;
    job.state = 'waiting';
    return job;
  }

  private backOff(job: Job, error: Error): void {
    job.state = 'backoff';
    const millis = backoffMillis(job.attempts, this.options.retry, this.random);
    log('debug', `call '${job.call.eventName}' failed (${error.message}); retry ${job.attempts} in ${millis} ms`);
    job.timer = startTimer(() => {
      job.timer = undefined;
      job.state = 'waiting';
      this.retrying.push(job);
      this.pump();
    }, millis);
  }

  private drop(events: number, reason: DeliveryDropReason, error: Error): Error {
    this.stats.callsFailed++;
    this.stats.dropped[reason] += events;
    return error;
  }

  private settle(job: Job, failure: Failure | undefined): void {
    if (!this.unsettled.delete(job)) return;
    if (job.state === 'in_flight') this.inFlight--;
    if (job.attempt) job.attempt.job = undefined;
    job.attempt = undefined;
    clearTimeout(job.timer);
    job.timer = undefined;
    job.state = 'settled';
    this.stats.kpiEventsPending -= job.events;
    if (failure) {
      log('debug', `call '${job.call.eventName}' given up as ${failure.reason}: ${failure.error.message}`);
      this.drop(job.events, failure.reason, failure.error);
    } else this.stats.kpiEventsDelivered += job.events;
    this.finish(job.batch, failure?.error);
  }

  /** Keeps one timer, for the call whose wait for CIF runs out first. */
  private startReadyTimer(): void {
    if (this.readyTimer !== undefined || this.waiting.length === 0) return;
    let readyBy = Infinity;
    for (const job of this.waiting) readyBy = Math.min(readyBy, job.readyBy);
    const millis = Math.max(0, readyBy - Date.now());
    this.readyTimerAt = readyBy;
    log('debug', `waiting for CIF, at most ${millis} ms`);
    this.readyTimer = startTimer(() => {
      this.readyTimer = undefined;
      this.readyTimeUp();
    }, millis);
  }

  private stopReadyTimer(): void {
    clearTimeout(this.readyTimer);
    this.readyTimer = undefined;
  }

  /** Calls whose wait ran out go without `CIFInitDone` if the library is there, else fail. */
  private readyTimeUp(): void {
    const present = this.readiness.lastChance();
    if (present) log('debug', 'calling without CIFInitDone after readyTimeoutMillis');
    if (this.readiness.current() !== 'ready') {
      const now = Date.now();
      const error = this.readiness.error(this.options.readyTimeoutMillis);
      const still: Job[] = [];
      for (const job of this.waiting) {
        if (job.readyBy > now) still.push(job);
        else if (present) this.retrying.push(job);
        else this.settle(job, { reason: 'cif_not_loaded', error });
      }
      this.waiting = still;
    }
    this.pump();
  }

  private async close(): Promise<void> {
    this.closed = true;
    let deadline: Timer | undefined;
    // Kept alive in Node: the caller is waiting for shutdown, and it is bounded.
    const timeUp = new Promise<void>((resolve) => (deadline = startTimer(resolve, this.options.timeoutMillis, true)));
    await Promise.race([this.flush(), timeUp]);
    clearTimeout(deadline);
    const error = new CifShutdownError('CifSpanExporter shut down before this call settled');
    for (const job of [...this.unsettled]) this.settle(job, { reason: 'after_shutdown', error });
    for (const ref of this.abandoned) clearTimeout(ref.hold);
    this.abandoned.clear();
    this.waiting.length = 0;
    this.retrying.length = 0;
    this.stopReadyTimer();
    this.readiness.dispose();
    this.updateGauges();
  }

  private updateGauges(): void {
    this.stats.callsInFlight = this.inFlight;
    this.stats.callsAbandoned = this.abandoned.size;
    this.stats.callsQueued = this.unsettled.size - this.inFlight;
  }
}

/**
 * One `logAnalyticsEvent` call with tracing suppressed, so that instrumentation of the host's
 * messaging never traces the exporter. A synchronous throw becomes a rejection.
 */
function callHost(client: CifAnalyticsClient, call: CifCall, dataFormat: 'object' | 'json'): Promise<unknown> {
  const data = dataFormat === 'json' ? JSON.stringify(call.data) : call.data;
  return new Promise((resolve) =>
    resolve(
      context.with(suppressTracing(context.active()), () =>
        client.logAnalyticsEvent(data, call.eventName, call.correlationId),
      ),
    ),
  );
}
