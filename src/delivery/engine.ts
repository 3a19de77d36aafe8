import { context, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { countSettled, type Batch, type DeliveryReport } from './report.js';
import { CifNotLoadedError, CifQueueFullError, CifShutdownError, CifTimeoutError, CifTimerError, toError } from '../errors.js';
import { log } from '../log.js';
import { Queue } from './queue.js';
import { createReadiness, type ReadinessSource } from './readiness.js';
import { backoffMillis, type RetryPolicy } from './retry.js';
import type { CifDeliveryStats, DeliveryDropReason } from '../stats.js';
import { MAX_TIMER_MILLIS, monotonicNow, startTimer, stopTimer as cancel, type Timer } from './timers.js';
import type { CifAnalyticsClient, CifCall } from '../types.js';

export type { DeliveryReport } from './report.js';

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
  /** The monotonic clock every deadline is taken on; `performance.now()` unless pinned. */
  now?: () => number;
}

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

/** Where a call is: waiting (for CIF, a slot or a retry), in backoff, at the host, or done. */
const WAITING = 0;
const BACKOFF = 1;
const IN_FLIGHT = 2;
const SETTLED = 3;

interface Job {
  readonly call: CifCall;
  /** Its rank in admission order: every queue keeps its calls in this order. */
  readonly seq: number;
  readonly events: number;
  readonly batch: Batch;
  /** When a call still waiting for CIF gives up (monotonic millis): from its admission, then from its first attempt. */
  readyBy: number;
  state: number;
  /** Attempts spent; one that failed before `CIFInitDone` is given back. */
  attempts: number;
  /** Whether the host was called for it yet, so that later calls count as retries. */
  called: boolean;
  /** When the attempt in flight times out, or the backoff ends (monotonic millis). */
  due: number;
  /** The attempt in flight, cut loose when the job leaves the host so a silent host cannot hold the job. */
  attempt: Attempt | undefined;
  /** Its index in `running` while in flight. */
  slot: number;
}

/** Links a host answer to its job until the job stops caring (timeout, shutdown). */
interface Attempt {
  job: Job | undefined;
  /** Set while the attempt timed out and may still run at the host, holding its slot until then. */
  heldUntil: number;
}

/** Ranks calls in admission order. */
const rank = (job: Job): number => job.seq;

/** What a user can do about each delivery drop reason, said in its one warning. */
const FIXES: Readonly<Record<DeliveryDropReason, string>> = {
  cif_not_loaded: 'Load msdyn_ciLibrary.js and create the exporter early, so it hears CIFInitDone; outside a window pass a `client`.',
  host_error: 'The channel provider must be active and the call made from its widget iframe.',
  timed_out: 'The host is not answering; the host may still record these.',
  queue_full: 'Raise maxQueueSize, or find why the host stalls.',
  after_shutdown: 'Export before shutdown(), or give shutdown longer (timeoutMillis).',
  no_timer: "The page's setTimeout must work for calls to be timed.",
};

/** Every call to the host runs in this context, made once: no tracing of the host's messaging. */
let suppressed: Context | undefined;

/**
 * The delivery engine: admits calls into a bounded queue, holds them until CIF is ready, runs
 * at most `maxConcurrentCalls` at a time, times each out, retries rejections with backoff, and
 * settles every call exactly once as delivered or dropped for a counted reason. One timer serves
 * every deadline (timeouts, backoffs, the wait for CIF, held slots), whatever the number of calls.
 */
export function createDelivery(options: DeliveryOptions, stats: CifDeliveryStats): DeliveryEngine {
  const { timeoutMillis, readyTimeoutMillis, maxConcurrentCalls, maxQueueSize, retry } = options;
  const random = options.random ?? Math.random;
  const clock = options.now ?? monotonicNow;
  /** Calls waiting for CIF or a slot, oldest first. */
  const waiting = new Queue<Job>();
  /** Calls whose backoff is over; they go before new calls. */
  const retrying = new Queue<Job>();
  /** Calls waiting out a backoff. */
  let backingOff: Job[] = [];
  /** Calls at the host, at most `maxConcurrentCalls`. */
  const running: Job[] = [];
  /** Timed-out attempts that may still run at the host; each keeps its slot (see `abandon`). */
  const abandoned: Attempt[] = [];
  /** One promise per `deliver()`, until it settles. */
  const batches = new Set<Promise<DeliveryReport>>();
  /** Shared by every call refused for a full queue or after shutdown: one error, however many calls. */
  const queueFullError = new CifQueueFullError(maxQueueSize);
  /** The drop reasons warned about, each once per delivery. */
  const warned = new Set<DeliveryDropReason>();
  /** Set when the page's `setTimeout` threw: the calls that need a deadline are given up. */
  let timerFailure: Error | undefined;
  /** Calls admitted so far, which ranks each call. */
  let seq = 0;
  const shutDownError = new CifShutdownError('the CIF delivery is shut down');
  /** Calls admitted and not yet settled, in any state. */
  let admitted = 0;
  let timer: Timer | undefined;
  /** When `timer` fires (monotonic millis); `Infinity` when it is not set. */
  let timerAt = Infinity;
  /** When the current wait for CIF runs out, if calls wait for it. */
  let readyWaitAt: number | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;
  const readiness = createReadiness(options.readiness, pump);

  function submit(call: CifCall, batch: Batch, refuse: boolean, now: number): void {
    const events = call.data.events.length;
    stats.kpiEventsSent += events;
    // KPI events bound memory (each is capped by its columns), whatever their grouping into calls.
    const refusal = closed || refuse ? shutDownError : stats.kpiEventsPending >= maxQueueSize ? queueFullError : undefined;
    if (refusal) {
      countDrop(events, refusal === shutDownError ? 'after_shutdown' : 'queue_full', refusal);
      return countSettled(batch, refusal);
    }
    const job: Job = {
      call,
      seq: seq++,
      events,
      batch,
      readyBy: now + readyTimeoutMillis,
      state: WAITING,
      attempts: 0,
      called: false,
      due: 0,
      attempt: undefined,
      slot: -1,
    };
    admitted++;
    stats.kpiEventsPending += events;
    waiting.push(job);
    // With every slot taken and CIF ready, the call only waits: most calls of a large batch.
    if (running.length + abandoned.length < maxConcurrentCalls || readiness.current() !== 'ready') pump();
    else stats.callsQueued = admitted - running.length;
  }

  /** Moves calls along as far as readiness and the concurrency limit allow. */
  function pump(): void {
    const state = readiness.current();
    if (state === 'failed') {
      readyWaitAt = undefined;
      const error = readiness.error(readyTimeoutMillis);
      for (const job of waiting.takeAll()) settle(job, error, 'cif_not_loaded');
    }
    const ready = state === 'ready';
    if (ready) readyWaitAt = undefined;
    // Calls due for a retry are past their wait for CIF, so they go even while others wait.
    while (!timerFailure && running.length + abandoned.length < maxConcurrentCalls) {
      // Oldest first; calls due for a retry are past their wait for CIF, so they go even while others wait.
      const next = ready ? waiting.first : undefined;
      const retry = retrying.first;
      const job = next && !(retry && retry.seq < next.seq) ? waiting.shift() : retrying.shift();
      if (!job) break;
      attempt(job);
    }
    if (state === 'waiting' && readyWaitAt === undefined && waiting.length > 0) waitForCif();
    if (timerFailure) giveUpUntimed();
    stats.callsInFlight = running.length;
    stats.callsAbandoned = abandoned.length;
    stats.callsQueued = admitted - running.length;
    if (admitted === 0 && abandoned.length === 0) stopTimer();
  }

  function attempt(job: Job): void {
    const client = options.getClient();
    if (!client) {
      // Ready by the `ready` promise, yet the default client has no library to call.
      return settle(job, new CifNotLoadedError(), 'cif_not_loaded');
    }
    const now = clock();
    schedule(now + timeoutMillis);
    // Without a timer the call could hang unbounded: it is not made, and `pump()` gives it up.
    if (timerFailure) return waiting.insert(job, rank);
    if (!job.called) job.readyBy = now + readyTimeoutMillis;
    else stats.callsRetried++;
    job.called = true;
    job.attempts++;
    job.state = IN_FLIGHT;
    job.slot = running.push(job) - 1;
    job.due = now + timeoutMillis;
    stats.callsMade++;
    const ref: Attempt = { job, heldUntil: 0 };
    job.attempt = ref;
    // These handlers live as long as the host's promise, so they hold `ref` alone, not the call.
    listen(
      callHost(client, job.call, options.dataFormat),
      () => answered(ref, undefined),
      (reason: unknown) => answered(ref, toError(reason)),
    );
  }

  function answered(ref: Attempt, error: Error | undefined): void {
    if (ref.heldUntil > 0) {
      release(ref);
      log('debug', 'a timed-out call answered late; its slot is free');
      return pump();
    }
    const job = ref.job;
    if (!job) return;
    detach(job);
    if (!error) {
      readiness.confirm();
      settle(job, undefined);
    } else if (!readiness.confirmed && clock() < job.readyBy) {
      // The library may still be starting: the attempt is given back and the call waits for CIFInitDone.
      job.attempts--;
      readiness.unready();
      waiting.insert(job, rank);
      if (readyWaitAt !== undefined && job.readyBy < readyWaitAt) readyWaitAt = undefined;
      log('debug', `call '${job.call.eventName}' failed before CIFInitDone (${error.message}); waiting for CIF again`);
    } else if (job.attempts < retry.maxAttempts) {
      const millis = backoffMillis(job.attempts, retry, random);
      log('debug', `call '${job.call.eventName}' failed (${error.message}); retry ${job.attempts} in ${millis} ms`);
      job.state = BACKOFF;
      job.due = clock() + millis;
      backingOff.push(job);
      schedule(job.due);
    } else {
      settle(job, error, 'host_error');
    }
    pump();
  }

  /** Takes a job off the host: its slot is free and a later answer no longer reaches it. */
  function detach(job: Job): void {
    const last = running.pop()!;
    if (last !== job) {
      running[job.slot] = last;
      last.slot = job.slot;
    }
    job.attempt!.job = undefined;
    job.attempt = undefined;
    job.state = WAITING;
  }

  /**
   * A timed-out call may still run at the host: it keeps its slot until the host answers it, or
   * until the host's own limit has surely passed, so calls wait instead of piling onto a host that
   * does not answer. At most `maxConcurrentCalls` are held, and shutdown lets go of them all.
   */
  function timedOut(job: Job, now: number): void {
    const ref = job.attempt!;
    detach(job);
    stats.callsTimedOut++;
    const millis = HOST_TIMEOUT_MILLIS - timeoutMillis;
    if (millis > 0) {
      ref.heldUntil = now + millis;
      abandoned.push(ref);
      schedule(ref.heldUntil);
    }
    settle(job, new CifTimeoutError(timeoutMillis), 'timed_out');
  }

  function release(ref: Attempt): void {
    const index = abandoned.indexOf(ref);
    if (index >= 0) abandoned.splice(index, 1);
    ref.heldUntil = 0;
  }

  function countDrop(events: number, reason: DeliveryDropReason, error: Error): void {
    stats.callsFailed++;
    stats.dropped[reason] += events;
    if (warned.has(reason)) return;
    warned.add(reason);
    log('warn', `KPI events dropped: ${error.message}. ${FIXES[reason]} Counted in getStats().dropped.${reason}; shown once.`);
  }

  /** A job is done: delivered when `error` is undefined, else dropped for `reason`. */
  function settle(job: Job, error: Error | undefined, reason?: DeliveryDropReason): void {
    if (job.state === SETTLED) return;
    if (job.state === IN_FLIGHT) detach(job);
    job.state = SETTLED;
    admitted--;
    stats.kpiEventsPending -= job.events;
    if (error) {
      log('debug', `call '${job.call.eventName}' given up as ${reason}: ${error.message}`);
      countDrop(job.events, reason!, error);
    } else stats.kpiEventsDelivered += job.events;
    countSettled(job.batch, error);
  }

  /** Starts the wait for CIF of the calls waiting, up to the first of their `readyBy`. */
  function waitForCif(): void {
    let readyBy = Infinity;
    for (const job of waiting) readyBy = Math.min(readyBy, job.readyBy);
    readyWaitAt = readyBy;
    log('debug', `waiting for CIF, at most ${Math.max(0, Math.round(readyBy - clock()))} ms`);
    schedule(readyBy);
  }

  /** Calls whose wait ran out go without `CIFInitDone` if the library is there, else fail. */
  function readyTimeUp(now: number): void {
    const present = readiness.lastChance();
    if (present) log('debug', 'calling without CIFInitDone after readyTimeoutMillis');
    if (readiness.current() === 'ready') return;
    const error = readiness.error(readyTimeoutMillis);
    for (const job of waiting.takeWhere((job) => job.readyBy <= now)) {
      if (present) retrying.insert(job, rank);
      else settle(job, error, 'cif_not_loaded');
    }
  }

  /** Makes the engine's one timer fire by `at`. */
  function schedule(at: number): void {
    if (at >= timerAt) return;
    stopTimer();
    try {
      timer = startTimer(onTimer, Math.min(MAX_TIMER_MILLIS, Math.max(0, at - clock())));
      timerAt = at;
    } catch (error) {
      timerFailure ??= new CifTimerError(error);
    }
  }

  function stopTimer(): void {
    cancel(timer);
    timer = undefined;
    timerAt = Infinity;
  }

  /**
   * Without a timer no deadline holds, so no call could be sure to settle: every call not yet
   * settled is given up, and held slots are let go. The next call tries `setTimeout` again.
   */
  function giveUpUntimed(): void {
    const error = timerFailure!;
    timerFailure = undefined;
    settleAll(error, 'no_timer');
  }

  /** Settles every call not yet settled, oldest first, and lets go of held slots. */
  function settleAll(error: Error, reason: DeliveryDropReason): void {
    const left = [...running, ...retrying.takeAll(), ...backingOff, ...waiting.takeAll()].sort((a, b) => a.seq - b.seq);
    backingOff = [];
    for (const job of left) settle(job, error, reason);
    for (const ref of abandoned.splice(0)) ref.heldUntil = 0;
    readyWaitAt = undefined;
  }

  /** Handles every deadline that has passed, then sets the timer for the next one. */
  function onTimer(): void {
    timer = undefined;
    timerAt = Infinity;
    const now = clock();
    for (const job of running.filter((job) => job.due <= now)) timedOut(job, now);
    for (const ref of abandoned.filter((ref) => ref.heldUntil <= now)) {
      release(ref);
      log('debug', "a timed-out call's slot is free: the host's own time limit has passed");
    }
    for (const job of backingOff.filter((job) => job.due <= now)) {
      job.state = WAITING;
      retrying.insert(job, rank);
    }
    backingOff = backingOff.filter((job) => job.due > now);
    if (readyWaitAt !== undefined && readyWaitAt <= now) {
      readyWaitAt = undefined;
      readyTimeUp(now);
    }
    pump();
    for (const job of running) schedule(job.due);
    for (const ref of abandoned) schedule(ref.heldUntil);
    for (const job of backingOff) schedule(job.due);
    if (readyWaitAt !== undefined) schedule(readyWaitAt);
    if (timerFailure) pump();
  }

  async function close(): Promise<void> {
    closed = true;
    await flush(timeoutMillis);
    settleAll(new CifShutdownError('the CIF delivery shut down before this call settled'), 'after_shutdown');
    readiness.dispose();
    pump();
  }

  /** Keeps `done` for `flush()` until it settles, holding the promise alone, not the batch's calls. */
  function track(done: Promise<DeliveryReport>): void {
    batches.add(done);
    void done.then(() => batches.delete(done));
  }

  async function flush(timeoutMillis = MAX_TIMER_MILLIS): Promise<void> {
    if (batches.size === 0) return;
    let keepAlive: Timer | undefined;
    // Kept alive in Node: the caller is waiting, and the wait is bounded. Without a timer no call
    // can be at the host (see `giveUpUntimed`), so the calls alone bound the wait.
    const timeUp = new Promise<void>((resolve) => {
      try {
        keepAlive = startTimer(resolve, timeoutMillis, true);
      } catch {
        // Waits for the calls alone.
      }
    });
    try {
      await Promise.race([Promise.all(batches), timeUp]);
    } finally {
      cancel(keepAlive);
    }
  }

  return {
    deliver(calls, refuse = false) {
      const report: DeliveryReport = { calls: calls.length, failed: 0, errors: [] };
      if (calls.length === 0) return Promise.resolve(report);
      let resolve!: (report: DeliveryReport) => void;
      const done = new Promise<DeliveryReport>((r) => (resolve = r));
      const batch: Batch = { report, pending: calls.length, resolve };
      const now = clock();
      for (const call of calls) submit(call, batch, refuse, now);
      track(done);
      return done;
    },
    flush,
    shutdown: () => (closing ??= close()),
    get isClosed() {
      return closed;
    },
  };
}

/**
 * One `logAnalyticsEvent` call with tracing suppressed, so that instrumentation of the host's
 * messaging never traces the exporter. A synchronous throw becomes a rejection. The host's own
 * promise is used as it is, saving a wrapper per call; anything else, such as a thenable or a
 * promise with a `then` of its own, is adopted by a new promise, which cannot throw or answer twice.
 */
function callHost(client: CifAnalyticsClient, call: CifCall, dataFormat: 'object' | 'json'): Promise<unknown> {
  try {
    const data = dataFormat === 'json' ? JSON.stringify(call.data) : call.data;
    suppressed ??= suppressTracing(ROOT_CONTEXT);
    const answer: unknown = context.with(suppressed, client.logAnalyticsEvent, client, data, call.eventName, call.correlationId);
    return isPlainPromise(answer) ? answer : new Promise((resolve) => resolve(answer));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Waits for the host's answer. A proxy of a promise passes for one, and `then` refuses it: the call failed. */
function listen(answer: Promise<unknown>, onAnswer: () => void, onFailure: (reason: unknown) => void): void {
  try {
    answer.then(onAnswer, onFailure);
  } catch (error) {
    Promise.reject(error).catch(onFailure);
  }
}

/**
 * A promise whose `then` is `Promise.prototype.then`, or an object posing as one, which that
 * `then` refuses at once (see `attempt`). Reading a proxy may throw; the caller catches.
 */
function isPlainPromise(value: unknown): value is Promise<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.getPrototypeOf(value) === Promise.prototype &&
    !Object.prototype.hasOwnProperty.call(value, 'then')
  );
}
