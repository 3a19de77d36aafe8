import { CifNotLoadedError, CifQueueFullError, CifShutdownError, CifTimeoutError } from '../errors.js';
import { log } from '../log.js';
import type { CifDeliveryStats, DeliveryDropReason } from '../stats.js';
import type { CifCall } from '../types.js';
import { readyTimeUp } from './cif-wait.js';
import { createCountEnd } from './count.js';
import { callHost } from './host-call.js';
import { createJobTable, type Attempt, type Job } from './jobs.js';
import type { Outbox, OutboxEntry } from './outbox.js';
import type { DeliveryOptions } from './options.js';
import { createReadiness } from './readiness.js';
import { createBatches, type Batch, type DeliveryReport } from './report.js';
import { backoffMillis } from './retry.js';
import { createSlots } from './slots.js';
import { createDeadlineTimer, monotonicNow } from './timers.js';

export type { DeliveryReport } from './report.js';
export type { DeliveryOptions } from './options.js';

/** The delivery engine as the exporters use it. */
export interface DeliveryEngine {
  /**
   * Hands calls to the host, starting at once what CIF readiness and free slots allow. Never
   * throws or rejects; resolves once every call has settled, saying how many failed and why.
   * With `refuse`, for an exporter that is shut down, every call fails as `after_shutdown`.
   */
  deliver(calls: readonly CifCall[], refuse?: boolean): Promise<DeliveryReport>;
  /**
   * Resolves once every call handed to `deliver()` so far has settled, or after `timeoutMillis`
   * when given. In Node it keeps the process alive meanwhile, which the engine's own timer does not.
   */
  flush(timeoutMillis?: number): Promise<void>;
  /**
   * Refuses new calls, waits up to `timeoutMillis` for the others, then fails what is left and
   * stops the timer. Resolves even if the host never answers; later calls share the first.
   */
  shutdown(): Promise<void>;
  /** True from the moment `shutdown()` is called. */
  readonly isClosed: boolean;
}

/** How long the host itself lets a call run (CIF docs): a timed-out call may hold its slot until then. */
export const HOST_TIMEOUT_MILLIS = 100_000;

/**
 * The delivery engine: admits calls up to a bound, holds them until CIF is ready, runs at most
 * `maxConcurrentCalls` at a time, times each out, retries rejections with backoff, and settles
 * every call exactly once as delivered, dropped for a counted reason, or kept in the outbox for a
 * later page. It orchestrates its parts: the job table (where each waiting call is), the slots
 * (calls at the host, and held ones), the one timer of every deadline, readiness, the open
 * batches, and the outbox, where a call stays from its admission until it is handed to the host.
 */
export function createDelivery(options: DeliveryOptions, stats: CifDeliveryStats, outbox?: Outbox): DeliveryEngine {
  const { timeoutMillis, readyTimeoutMillis, maxQueueSize, retry } = options;
  const clock = options.now ?? monotonicNow;
  const jobs = createJobTable();
  const slots = createSlots(options.maxConcurrentCalls);
  const batches = createBatches();
  const timer = createDeadlineTimer(onTimer, clock);
  const count = createCountEnd(stats, outbox);
  /** Shared by every call refused for a full queue or after shutdown: one error, however many calls. */
  const queueFullError = new CifQueueFullError(maxQueueSize);
  const shutDownError = new CifShutdownError('the CIF delivery is shut down');
  /** Calls admitted so far, which ranks each call; calls of earlier pages rank before every call of this one. */
  let seq = 0;
  let replayed = Number.MIN_SAFE_INTEGER;
  /** Calls admitted and not yet settled, in any state. */
  let admitted = 0;
  /** When the current wait for CIF runs out, if calls wait for it. */
  let readyWaitAt: number | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;
  /** Until the outbox has handed over what pages gone left, this page's own calls wait (at most their wait for CIF). */
  let claiming = outbox !== undefined;
  const readiness = createReadiness(options.readiness, pump);
  /** The outbox could not take a call out before its handover: it stays there for a later page. */
  const notTakenError = new Error('the outbox could not take this call out, so it is left for a later page');

  /** Admits a call of this page, or with `entry` one an earlier page left in the outbox. */
  function submit(call: CifCall, batch: Batch, refuse: boolean, now: number, entry?: OutboxEntry): void {
    const events = call.data.events.length;
    if (!entry) stats.kpiEventsSent += events;
    // KPI events bound memory (each is capped by its columns), whatever their grouping into calls.
    const refusal = closed || refuse ? shutDownError : stats.kpiEventsPending >= maxQueueSize ? queueFullError : undefined;
    if (refusal) return count(events, batch, entry, refusal, refusal === shutDownError ? 'after_shutdown' : 'queue_full');
    const rank = entry ? replayed++ : seq++;
    entry ??= outbox?.add(call);
    const job: Job = { call, seq: rank, events, batch, state: 'waiting', readyBy: now + readyTimeoutMillis, attempts: 0, called: false, due: 0, attempt: undefined, slot: -1, entry };
    admitted++;
    stats.kpiEventsPending += events;
    jobs.put(job, 'waiting');
    // With every slot taken and CIF ready, the call only waits: most calls of a large batch.
    if (slots.free || readiness.current() !== 'ready') pump();
    else stats.callsQueued = admitted - slots.running.length;
  }

  /** Moves calls along as far as readiness and free slots allow. */
  function pump(): void {
    const cif = readiness.current();
    const state = cif === 'ready' && claiming ? 'waiting' : cif;
    if (state !== 'waiting') readyWaitAt = undefined;
    if (state === 'failed') {
      const error = readiness.error(readyTimeoutMillis);
      for (const job of jobs.waiting.takeAll()) settle(job, error, 'cif_not_loaded');
    }
    let job: Job | undefined;
    // Oldest first; calls due for a retry are past their wait for CIF, so they go even while others wait.
    while (!timer.failure && slots.free && (job = jobs.next(state === 'ready'))) attempt(job);
    if (state === 'waiting' && readyWaitAt === undefined && jobs.waiting.length > 0) waitForCif();
    // Without a timer no deadline holds, so no call could be sure to settle: all are given up. The next call tries again.
    if (timer.failure) {
      settleAll(timer.failure, 'no_timer');
      timer.failure = undefined;
    }
    stats.callsInFlight = slots.running.length;
    stats.callsAbandoned = slots.held.length;
    stats.callsQueued = admitted - slots.running.length;
    if (admitted === 0 && slots.held.length === 0) timer.stop();
  }

  function attempt(job: Job): void {
    const client = options.getClient();
    // Ready by the `ready` promise, yet the default client has no library to call.
    if (!client) return settle(job, new CifNotLoadedError(), 'cif_not_loaded');
    const now = clock();
    timer.schedule(now + timeoutMillis);
    // Without a timer the call could hang unbounded: it is not made, and `pump()` gives it up.
    if (timer.failure) return jobs.put(job, 'waiting');
    // At most once: a call the outbox still holds is never handed over, and stays for a later page.
    if (job.entry && !outbox!.remove(job.entry)) return settle(job, notTakenError, 'after_shutdown');
    if (!job.called) job.readyBy = now + readyTimeoutMillis;
    else stats.callsRetried++;
    job.called = true;
    job.attempts++;
    stats.callsMade++;
    const ref = slots.start(job, now + timeoutMillis);
    // The answer lives as long as the host's promise, so it holds `ref` alone, not the call.
    callHost(client, job.call, options.dataFormat, (error) => answered(ref, error));
  }

  function answered(ref: Attempt, error: Error | undefined): void {
    if (slots.release(ref)) {
      log('debug', 'a timed-out call answered late; its slot is free');
      return pump();
    }
    const job = ref.job;
    if (!job) return;
    slots.stop(job);
    if (!error) {
      readiness.confirm();
      settle(job);
    } else if (!readiness.confirmed && clock() < job.readyBy) {
      // The library may still be starting: the attempt is given back and the call waits for CIFInitDone.
      job.attempts--;
      readiness.unready();
      restore(job);
      jobs.put(job, 'waiting');
      if (readyWaitAt !== undefined && job.readyBy < readyWaitAt) readyWaitAt = undefined;
      log('debug', `call '${job.call.eventName}' failed before CIFInitDone (${error.message}); waiting for CIF again`);
    } else if (job.attempts < retry.maxAttempts) {
      const millis = backoffMillis(job.attempts, retry, options.random);
      log('debug', `call '${job.call.eventName}' failed (${error.message}); retry ${job.attempts} in ${millis} ms`);
      job.due = clock() + millis;
      restore(job);
      jobs.put(job, 'backoff');
      timer.schedule(job.due);
    } else settle(job, error, 'host_error');
    pump();
  }

  /** A call past its timeout fails; it may still run at the host, so its slot is held until the host's own limit. */
  function timedOut(job: Job, now: number): void {
    const ref = slots.stop(job);
    stats.callsTimedOut++;
    if (HOST_TIMEOUT_MILLIS > timeoutMillis) slots.hold(ref, now + HOST_TIMEOUT_MILLIS - timeoutMillis);
    settle(job, new CifTimeoutError(timeoutMillis), 'timed_out');
  }

  /** A call the host rejected goes back in the outbox while it waits to be tried again. */
  function restore(job: Job): void {
    if (job.entry) outbox!.restore(job.entry);
  }

  /** A job is done: delivered when `error` is undefined, else given up (see `count`). */
  function settle(job: Job, error?: Error, reason?: DeliveryDropReason): void {
    if (job.state === 'settled') return;
    if (job.attempt) slots.stop(job);
    job.state = 'settled';
    admitted--;
    stats.kpiEventsPending -= job.events;
    count(job.events, job.batch, job.entry, error, reason, job.call.eventName);
  }

  /** Settles every call not yet settled, oldest first, and lets go of held slots. */
  function settleAll(error: Error, reason: DeliveryDropReason): void {
    for (const job of [...slots.running, ...jobs.takeAll()].sort((a, b) => a.seq - b.seq)) settle(job, error, reason);
    slots.releaseAll();
    readyWaitAt = undefined;
  }

  /** Starts the wait for CIF of the calls waiting, up to the first of their `readyBy`. */
  function waitForCif(): void {
    readyWaitAt = jobs.readyBy();
    log('debug', `waiting for CIF, at most ${Math.max(0, Math.round(readyWaitAt - clock()))} ms`);
    timer.schedule(readyWaitAt);
  }

  /** Handles every deadline that has passed, then sets the timer for the next one. */
  function onTimer(): void {
    const now = clock();
    for (const job of slots.running.filter((job) => job.due <= now)) timedOut(job, now);
    for (const ref of slots.held.filter((ref) => ref.heldUntil <= now)) {
      slots.release(ref);
      log('debug', "a timed-out call's slot is free: the host's own time limit has passed");
    }
    jobs.endBackoffs(now);
    if (readyWaitAt !== undefined && readyWaitAt <= now) {
      readyWaitAt = undefined;
      claiming = false;
      readyTimeUp(readiness, jobs, now, readyTimeoutMillis, settle);
    }
    pump();
    timer.schedule(Math.min(slots.nextDeadline(), jobs.nextBackoff(), readyWaitAt ?? Infinity));
    if (timer.failure) pump();
  }

  async function close(): Promise<void> {
    closed = true;
    await batches.flush(timeoutMillis);
    settleAll(new CifShutdownError('the CIF delivery shut down before this call settled'), 'after_shutdown');
    outbox?.dispose();
    readiness.dispose();
    pump();
  }

  // Calls earlier pages left go before this page's own, in their order, once CIF is ready.
  outbox?.claim(
    (entries) => {
      const [batch] = batches.open(entries.length);
      const now = clock();
      for (const entry of entries) submit(entry.call, batch, false, now, entry);
    },
    () => {
      claiming = false;
      pump();
    },
  );

  return {
    deliver(calls, refuse = false) {
      const [batch, done] = batches.open(calls.length);
      const now = clock();
      for (const call of calls) submit(call, batch, refuse, now);
      return done;
    },
    flush: batches.flush,
    shutdown: () => (closing ??= close()),
    get isClosed() {
      return closed;
    },
  };
}
