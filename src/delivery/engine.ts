import { CifNotLoadedError, CifQueueFullError, CifShutdownError, CifTimeoutError, CifTimerError } from '../errors.js';
import { log } from '../log.js';
import type { CifDeliveryStats, DeliveryDropReason } from '../stats.js';
import type { CifCall } from '../types.js';
import { callHost } from './host-call.js';
import { createJobTable, type Job } from './jobs.js';
import type { Outbox, OutboxEntry } from './outbox.js';
import type { DeliveryOptions } from './options.js';
import { createReadiness } from './readiness.js';
import { createBatches, type Batch, type DeliveryReport } from './report.js';
import { backoffMillis } from './retry.js';
import { MAX_TIMER_MILLIS, monotonicNow, startTimer, stopTimer, readClock, type Timer } from './timers.js';

export type { DeliveryReport } from './report.js';

/** The delivery engine as the exporters use it. */
export interface DeliveryEngine {
  /**
   * Hands calls to the host, starting at once what CIF readiness and free slots allow. Never
   * throws or rejects; resolves once every call has settled or, with an outbox, is kept in it for a
   * later page (as its task ends, or while it waits for a retry) or was handed to the host in the
   * task that admitted it, never written; saying how many failed and why.
   * With `refuse`, the error of an exporter that is shut down, every call fails with it as `after_shutdown`.
   */
  deliver(calls: readonly CifCall[], refuse?: Error): Promise<DeliveryReport>;
  /**
   * Resolves once every call handed to `deliver()` so far has settled or is kept in the outbox, or
   * every slot is held by a call the host never answered, or after `timeoutMillis` when given. In
   * Node it keeps the process alive meanwhile, which the engine's own timer does not.
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

/** The batch of a call the outbox kept, which was told so then. */
const told: Batch = () => {};

/** How long the host itself lets a call run (CIF docs): a timed-out call may hold its slot until then. */
export const HOST_TIMEOUT_MILLIS = 100_000;

/**
 * One of the `maxConcurrentCalls` slots at the host: a call in flight until `until`, its timeout;
 * or, once its `job` is cut loose, a timed-out call that may still run there, which keeps the slot
 * until the host answers it or `until`, the host's own limit, so calls wait instead of piling
 * onto a host that does not answer. The host's answer holds the slot alone, not the job.
 */
interface Slot {
  job: Job | undefined;
  until: number;
  /** The engine the answer goes to, until it shuts down: the host may hold the call, and this slot, for the page's life. */
  to: { answered?: (slot: Slot, error?: Error) => void };
}

/** Hands the host's answer to the engine of its slot, unless that has shut down. */
const relay = (slot: Slot, error?: Error): void => slot.to.answered?.(slot, error);

/**
 * The delivery engine: admits calls up to a bound, holds them until CIF is ready, runs at most
 * `maxConcurrentCalls` at a time, times each out, retries rejections with backoff, and settles
 * every call exactly once as delivered, dropped for a counted reason, or kept in the outbox for a
 * later page. It orchestrates its parts: the job table (where each call not at the host is), the
 * slots, the one timer of every deadline, readiness, the open batches, and the outbox, where a
 * call not handed to the host in the task that admits it stays from the end of that task until it is.
 */
export function createDelivery(options: DeliveryOptions, stats: CifDeliveryStats, outbox?: Outbox): DeliveryEngine {
  const { timeoutMillis, readyTimeoutMillis, maxQueueSize, maxConcurrentCalls, retry } = options;
  const monotonic = options.now ?? monotonicNow;
  /**
   * Set once timers show the monotonic clock lagging them (fake timers that leave `performance` alone, one that stands
   * still): from then on the engine's time is the wall clock less `lag`, going on from where it stood as they began.
   * Deadlines taken before come late, never early.
   */
  let lag: number | undefined;
  /**
   * What the wall clock and the monotonic clock showed over the timers fired in a row that fired on time by the wall
   * clock alone, each set as the one before fired: the evidence `lag` is set on, once it spans half a second. A coarse
   * clock (Tor Browser's, in steps of 100 ms) differs from the other by two steps at the most over such a run.
   */
  let lagWall = 0;
  let lagShown = 0;
  /** Whether the timer that fired is being handled: a timer set meanwhile follows on from it. */
  let firing = false;
  /**
   * The engine's time as last read, which never steps back; where no clock gives a time (an SES compartment), the time
   * the last timer that fired was set for.
   */
  let floor = -Infinity;
  const clock = (): number => {
    const time = lag === undefined ? monotonic() : readClock() - lag;
    return time > floor ? (floor = time) : floor;
  };
  const jobs = createJobTable();
  const batches = createBatches();
  /** Shared by every call refused for a full queue or after shutdown: one error, however many calls. */
  const queueFullError = new CifQueueFullError(maxQueueSize);
  const shutDownError = new CifShutdownError('the CIF delivery is shut down');
  /** The outbox could not take a call out before its handover: it stays there for a later page. */
  const notTakenError = new Error('the outbox could not take this call out');
  /** Calls admitted so far, which ranks each call; calls of earlier pages rank from -1e9, before every call of this one (no outbox holds a billion). */
  let seq = 0;
  let replayed = -1e9;
  /** KPI events of earlier pages' calls not yet settled, which the queue bound leaves out. */
  let replaying = 0;
  /** Calls admitted and not yet settled, in any place; of them, the calls in a slot. */
  let admitted = 0;
  let inFlight = 0;
  /** The slots taken, in no order: a slot let go of is in none, so a late answer finds nothing to free. */
  let slots: Slot[] = [];
  const to: Slot['to'] = { answered };
  /** When the current wait for CIF runs out, if calls wait for it; `Infinity` when none does. */
  let readyWaitAt = Infinity;
  /** Resolves the wait of `shutdown()` once every call has settled. */
  let drained: (() => void) | undefined;
  /** Set when `shutdown()` is called: from then on, calls are refused. */
  let closing: Promise<void> | undefined;
  /** The engine's one timer, set for the earliest deadline asked of it, on `clock`; `timerAt` is `Infinity` when it is not set. */
  let timer: Timer | undefined;
  let timerAt = Infinity;
  /** Why the page's `setTimeout` threw, until `pump()` gives the calls up; how many times in a row it fired early. */
  let noTimer: Error | undefined;
  let early = 0;
  /**
   * Calls kept in the outbox while CIF was not ready, which go again should it come while this page lives, and
   * their KPI events: added to only until CIF is known to work, after which it never waits again.
   */
  let late: Job[] = [];
  let lateEvents = 0;
  /** Whether a call kept for another reason than shutdown was warned about. */
  let keptTold = false;
  /** Calls admitted in this task, put in the outbox as it ends (a microtask later) unless handed to the host first. */
  let unwritten: Set<Job> | undefined;
  /** Until the outbox has handed over what pages gone left, this page's own calls wait (at most their wait for CIF). */
  let claiming = outbox !== undefined;
  /**
   * Resolves the waits of `flush()` once every slot is held by a call the host never answered, which it may hold up
   * to the host's own limit: what is left waits for a slot, with no knowing when one frees. A slot past that limit,
   * which the timer has yet to free, holds nothing. One for each wait: a promise shared by them all would hold what
   * each waited for until the engine stalls, which it may never do.
   */
  const stalls = new Set<() => void>();
  const stuck = () => !inFlight && slots.filter((slot) => slot.until > clock()).length >= maxConcurrentCalls;
  /** Whether `pump()` runs, and whether it was asked to meanwhile. */
  let pumping = false;
  let again = false;
  const readiness = createReadiness(options, pump);

  /** Admits a call of this page, or with `entry` one an earlier page left in the outbox. */
  function submit(call: CifCall, batch: Batch, refuse: Error | undefined, now: number, entry?: OutboxEntry): void {
    const events = call.data.events.length;
    // Counted as it is admitted, so that the counters balance at every line the page's logger is told.
    if (entry) stats.outbox.replayed += events;
    else stats.kpiEventsSent += events;
    // This page's KPI events bound memory (each is capped by its columns), whatever their grouping into calls. Calls of
    // earlier pages are bounded by the outbox, which holds them: refused, they would stay under a lock this page holds.
    const refusal = refuse ?? (!entry && stats.kpiEventsPending - replaying >= maxQueueSize ? queueFullError : undefined);
    const job: Job = { call, seq: entry ? replayed++ : seq++, events, batch, entry, readyBy: now + readyTimeoutMillis, attempts: 0, called: false, due: 0, behind: undefined };
    count(job, 1);
    if (refusal) return settle(job, refusal, refusal === queueFullError ? 'queue_full' : 'after_shutdown');
    // Put in the outbox as this task ends: a call that goes to the host before then is never written, as the store costs tens of microseconds a call.
    if (outbox) {
      if (!unwritten) {
        unwritten = new Set();
        void writeLater();
      }
      unwritten.add(job);
    }
    jobs.put(job);
    // With every slot taken and CIF ready, the call only waits: most calls of a large batch.
    if (slots.length < maxConcurrentCalls || readiness.current() !== 'ready') pump();
  }

  /** Counts a job in (`sign` 1) or out (-1) of those not yet settled; calls of earlier pages rank below 0. */
  function count(job: Job, sign: number): void {
    admitted += sign;
    stats.kpiEventsPending += sign * job.events;
    if (job.seq < 0) replaying += sign * job.events;
    gauges();
  }

  /** Sets the calls in flight, queued and abandoned as they are: each count changes before a line is told. */
  function gauges(): void {
    stats.callsInFlight = inFlight;
    stats.callsAbandoned = slots.length - inFlight;
    stats.callsQueued = admitted - inFlight;
  }

  /**
   * Moves calls along as far as readiness and free slots allow. Asked again while it runs (by a diag logger, a store
   * or a callback it reached, which exports), it goes round once more when done: a call it is handing over keeps its
   * place and its slot.
   */
  function pump(): void {
    again = true;
    if (pumping) return;
    pumping = true;
    try {
      while (again) {
        again = false;
        step();
      }
    } finally {
      pumping = false;
    }
  }

  function step(): void {
    const cif = readiness.current();
    const state = cif === 'ready' && claiming ? 'waiting' : cif;
    // CIF is known to work after all: what waited for it in vain goes now, as the queue has room, rather than with a later page.
    while (late.length > 0 && readiness.trusted() && !closing && stats.kpiEventsPending - replaying < maxQueueSize) {
      const job = late.shift()!;
      log('debug', `call '${job.call.eventName}' goes again: CIF is ready`);
      stats.kpiEventsKept -= job.events;
      // Its call is still in the store, where it was kept, and its batch was told then: a batch of its own, which `flush()`
      // waits for. The attempts it spent before CIF was known to work are given back: failures from now on are the host's.
      [job.batch] = batches.open(1);
      job.attempts = 0;
      count(job, 1);
      jobs.put(job);
    }
    if (state !== 'waiting') readyWaitAt = Infinity;
    if (state === 'failed') {
      notReady();
      // CIF cannot come now: what it kept stays with the outbox alone.
      late = [];
    }
    let job: Job | undefined;
    // Oldest first; calls due again are past their wait for CIF, so they go even while others wait.
    // A call put back to wait for CIF makes it wait: the rest is done again from there.
    while (!noTimer && slots.length < maxConcurrentCalls && (job = jobs.next(state === 'ready', clock))) if (attempt(job)) return pump();
    if (state === 'waiting' && readyWaitAt === Infinity && jobs.waiting > 0) {
      readyWaitAt = jobs.readyBy();
      // CIF ready, the calls wait for the outbox to hand over what pages gone left.
      log('debug', `waiting for ${cif === 'ready' ? 'the outbox' : 'CIF'}, at most ${Math.max(0, Math.round(readyWaitAt - clock()))} ms`);
      schedule(readyWaitAt);
    }
    // Without a timer no deadline holds, so no call could be sure to settle: all are given up. The next call tries again.
    if (noTimer) {
      settleAll(noTimer, 'no_timer');
      noTimer = undefined;
    }
    gauges();
    // No call and no slot left: nothing to time.
    if (!(admitted + slots.length)) {
      stopTimer(timer);
      timerAt = Infinity;
    }
  }

  /** Hands a call to the host; true when it went back to wait for CIF instead. */
  function attempt(job: Job): boolean | void {
    const client = options.getClient();
    if (!client) {
      const error = new CifNotLoadedError();
      // Ready by a first look at the page, whose library is gone again before it was confirmed, it may be starting;
      // ready by the `ready` promise, or confirmed, the default client has no library to call.
      return clock() < job.readyBy && readiness.unready() ? waitAgain(job, error) : settle(job, error, 'cif_not_loaded');
    }
    const now = clock();
    const until = now + timeoutMillis;
    schedule(until, now);
    // Without a timer the call could hang unbounded: it is not made, and `pump()` gives it up.
    if (noTimer) return jobs.put(job);
    // Handed over in the task it was admitted in, never written: its batch is told, as of a call stored then handed over.
    if (unwritten?.delete(job)) {
      job.batch();
      job.batch = told;
    }
    // At most once: a call the outbox still holds is never handed over, and stays for a later page.
    if (job.entry && !outbox!.remove(job.entry)) return settle(job, notTakenError, 'after_shutdown');
    if (job.called) stats.callsRetried++;
    else job.readyBy = now + readyTimeoutMillis;
    job.called = true;
    job.attempts++;
    stats.callsMade++;
    const slot: Slot = { job, until, to };
    slots.push(slot);
    inFlight++;
    // Right as the host is called: a host, or a test's client, may read them.
    gauges();
    callHost(client, job.call, options.dataFormat, relay, slot);
  }

  function answered(slot: Slot, error?: Error): void {
    const at = slots.indexOf(slot);
    // A slot shutdown or the host's limit let go of: nothing waits for this answer.
    if (at < 0) return;
    slots.splice(at, 1);
    const { job } = slot;
    if (!job) {
      gauges();
      log('debug', 'a timed-out call answered late; its slot is free');
      return pump();
    }
    inFlight--;
    gauges();
    // A failure of the page's library before it is confirmed says nothing about the host: within its wait for CIF, the
    // call waits for CIFInitDone again; past it, its last attempt gives it up as CIF not loaded, which the outbox keeps.
    const unconfirmed = error && readiness.unready();
    const early = unconfirmed && clock() < job.readyBy;
    if (!error) {
      readiness.confirm();
      settle(job);
    } else if (!early && job.attempts >= retry.maxAttempts) {
      if (!unconfirmed) settle(job, error, 'host_error');
      else {
        toOutbox(job);
        settle(job, new CifNotLoadedError(`CIF library not loaded: no CIFInitDone within ${readyTimeoutMillis} ms, and it failed the call: ${error.message}`, error.cause), 'cif_not_loaded');
      }
    } else {
      // Back in the outbox while it waits to go again.
      toOutbox(job);
      if (early) {
        // The library may still be starting: the attempt is given back.
        job.attempts--;
        waitAgain(job, error);
      } else {
        const millis = backoffMillis(job.attempts, retry, options.random);
        log('debug', `call '${job.call.eventName}' failed (${error.message}); retry ${job.attempts} in ${millis} ms`);
        jobs.put(job, clock() + millis);
        schedule(job.due);
      }
    }
    pump();
  }

  /** A call the library failed, or found missing, before it was confirmed waits for CIF again. */
  function waitAgain(job: Job, error: Error): true {
    jobs.put(job);
    if (job.readyBy < readyWaitAt) readyWaitAt = Infinity;
    log('debug', `call '${job.call.eventName}' failed before CIFInitDone (${error.message}); waiting for CIF again`);
    return true;
  }

  /**
   * Puts a job's call in the outbox, or back there; once the outbox stores it for a later page,
   * should this one go, tells its batch, so that its export need not wait for the host.
   */
  function toOutbox(job: Job): void {
    // Without an outbox, no callback is made: one per call would cost more than the rest of its admission.
    if (!outbox) return;
    const kept = (): void => {
      job.batch();
      job.batch = told;
    };
    if (job.entry) outbox.restore(job.entry, kept);
    // Ranked and counted as admitted, though written later (as its task ends, or at its retry, after the host had the payload),
    // so that a page's calls replay in that order, and a host that changed the payload changes no count.
    else job.entry = outbox.add(job.call, kept, job.seq, job.events);
  }

  /**
   * Puts in the outbox, as this task ends, its calls not handed to the host: after a bare `await`, which no page's
   * `Promise.prototype.then` can change. The set stays until all are written, so that a call a diag logger or a store
   * sends, settles or admits meanwhile is handled as in any other task. Never rejects: the outbox never throws.
   */
  async function writeLater(): Promise<void> {
    await 0;
    unwritten!.forEach(toOutbox);
    unwritten = undefined;
  }

  /** A job is done: delivered without `error`; else kept when the outbox still holds its call for a later page; else dropped for `reason`. */
  function settle(job: Job, error?: Error, reason?: DeliveryDropReason): void {
    // Given up in the task it was admitted in, it is written first, as it would have been.
    if (unwritten?.delete(job)) toOutbox(job);
    const { events, entry } = job;
    // The store is asked while the call still counts as pending, so that a failure it tells of finds the counters balanced.
    const kept = error && entry && outbox!.holds(entry);
    // Nor written later: a call given up while it waits for the outbox's lock is dropped, not kept.
    if (error && entry && !kept) outbox!.remove(entry);
    count(job, -1);
    if (admitted === 0) drained?.();
    if (!error) stats.kpiEventsDelivered += events;
    else if (kept) {
      stats.kpiEventsKept += events;
      // Kept while CIF is not ready (not failed, nor ready without a library): it goes again should CIF come while this page lives.
      const waits = !closing && readiness.current() === 'waiting' && lateEvents + events <= maxQueueSize;
      if (waits) {
        late.push(job);
        lateEvents += events;
      }
      const where = `kept in the outbox ${waits ? 'until CIF comes, or ' : ''}for a later page: ${error.message}`;
      log('debug', `call '${job.call.eventName}' ${where}`);
      // A page that shuts down keeps what still waits, as it should; any other reason (no CIF in time) is warned about once.
      if (reason !== 'after_shutdown' && !keptTold) {
        keptTold = true;
        log('warn', `KPI events ${where}. Counted in getStats().kpiEventsKept; shown once.`);
      }
    } else {
      stats.callsFailed++;
      // Counted before it is told, so that a diag logger that reads getStats() sees the drop, and one that
      // exports again as it is told is not warned again. Each reason is warned about once, at its first drop.
      const first = !stats.dropped[reason!];
      stats.dropped[reason!] += events;
      log('debug', `call '${job.call.eventName}' given up as ${reason}: ${error.message}`);
      if (first) log('warn', `KPI events dropped: ${error.message}. Counted in getStats().dropped.${reason}; shown once.`);
    }
    job.batch(error);
  }

  /** Settles every call not yet settled, oldest first, and lets go of every slot. */
  function settleAll(error: Error, reason: DeliveryDropReason): void {
    const inSlots: Job[] = [];
    for (const slot of slots) {
      if (slot.job) inSlots.push(slot.job);
      // The host holds the slot until it answers, which it may never do: the slot lets go of the call.
      slot.job = undefined;
    }
    slots = [];
    inFlight = 0;
    for (const job of jobs.takeAll(inSlots)) settle(job, error, reason);
    readyWaitAt = Infinity;
  }

  /**
   * Makes the timer fire by `at` (monotonic millis, `now` as read last); when the page's `setTimeout` throws, or calls
   * back before it returns (which keeps no deadline), sets `noTimer`.
   */
  function schedule(at: number, now = clock()): void {
    if (at >= timerAt) {
      // The timer set fires first, unless its time has passed without it (the page cleared it): set again for that time.
      if (timerAt >= now) return;
      at = timerAt;
    }
    stopTimer(timer);
    timerAt = Infinity;
    if (!firing) lagWall = lagShown = 0;
    // Whether setTimeout returned: false when it called back first.
    let returned: boolean | undefined;
    const from = clock();
    const wallFrom = readClock();
    // Whole milliseconds: a page's setTimeout cuts a fraction off, and would fire early by it.
    const millis = Math.ceil(Math.min(MAX_TIMER_MILLIS, Math.max(0, at - from)));
    try {
      timer = startTimer(() => {
        if (!returned) returned = false;
        // Early by both clocks a hundred times in a row, it ignores the delay (a shim that calls back at once): set again,
        // it would fire without end. A few are clocks that read in steps (100 ms in Tor Browser) or were set back.
        else {
          const shown = clock() - from;
          const lagging = shown < millis - 1;
          const wall = readClock() - wallFrom;
          if ((early = lagging && wall < millis - 1 ? early + 1 : 0) > 99) {
            noTimer ??= new CifTimerError(new Error('early by both clocks 100 times in a row: it ignores the delay, or the clocks stand still'));
            // The next call tries setTimeout afresh: a call admitted while this is told (by a diag logger) gets a timer.
            early = 0;
            timerAt = Infinity;
            pump();
          } else {
            // Where the monotonic clock did not show it on time, waited for again, it would come late or never. Where
            // no clock tells the time, the deadline it was set for has come.
            if (!lagging) lagWall = lagShown = 0;
            else if (wall >= millis - 1) {
              lagWall += wall;
              lagShown += shown;
              // Going on from its time as the run began: what performance.now() showed meanwhile, Date may not have.
              if (lagWall >= 500 && lagShown < lagWall / 2) lag ??= wallFrom + wall - clock() + lagShown;
            } else if (wall !== wall) floor = from + millis;
            firing = true;
            onTimer();
            firing = false;
          }
        }
      }, millis);
      if (returned === false) throw new Error('it called back before it returned');
      returned = true;
      timerAt = at;
    } catch (error) {
      noTimer ??= new CifTimerError(error);
    }
  }

  /** Handles every deadline that has passed, then sets the timer for the next one. */
  function onTimer(): void {
    timerAt = Infinity;
    const now = clock();
    for (const slot of slots) {
      const { job } = slot;
      if (job && slot.until <= now) {
        // Past its timeout the call fails; it may still run at the host, so it keeps its slot until the host's own
        // limit, counted from the call: a timer that fires late (a page asleep, a hidden tab) does not extend it.
        slot.job = undefined;
        slot.until += HOST_TIMEOUT_MILLIS - timeoutMillis;
        inFlight--;
        stats.callsTimedOut++;
        settle(job, new CifTimeoutError(timeoutMillis), 'timed_out');
        // Not past the host's limit already (a timeout of 100 s or more, a page that slept), which frees the slot below.
        if (slot.until > now) log('debug', `a timed-out call holds its slot until the host answers, at most ${Math.round(slot.until - now)} ms: calls beyond maxConcurrentCalls wait`);
      }
    }
    const held = slots.length;
    slots = slots.filter((slot) => slot.until > now);
    gauges();
    if (stuck()) stalls.forEach((unstall) => unstall());
    for (let i = slots.length; i < held; i++) log('debug', "a timed-out call's slot is free at the host's time limit");
    if (readyWaitAt <= now) {
      // The wait for CIF ran out: the calls past it go without CIFInitDone if the library is there, else they fail.
      readyWaitAt = Infinity;
      claiming = false;
      const present = readiness.lastChance();
      if (present) log('debug', 'calling without CIFInitDone after readyTimeoutMillis');
      if (readiness.current() !== 'ready') notReady((job) => job.readyBy <= now, present && now);
    }
    pump();
    // The timer fired, so it is set again, deadline by deadline, for the earliest left.
    schedule(jobs.nextDue(now));
    schedule(readyWaitAt);
    for (const slot of slots) schedule(slot.until);
    // Gives every call up should a timer not be set.
    pump();
  }

  /**
   * Takes the waiting calls `test` picks (all without it) off their wait for CIF: with `dueAt`, the
   * library is there and they go at that time, else they fail as `cif_not_loaded`.
   */
  function notReady(test?: (job: Job) => boolean, dueAt: number | false = false): void {
    const error = readiness.error(readyTimeoutMillis);
    for (const job of jobs.take(test)) {
      if (dueAt === false) settle(job, error, 'cif_not_loaded');
      else jobs.put(job, dueAt);
    }
  }

  async function close(): Promise<void> {
    if (admitted > 0) await batches.flush(timeoutMillis, new Promise<void>((resolve) => (drained = resolve)));
    // First the outbox writes what waits for its lock, so that those calls too are kept.
    outbox?.dispose();
    late = [];
    settleAll(new CifShutdownError('the CIF delivery shut down before this call settled'), 'after_shutdown');
    // Nothing waits for an answer now: a host that never gives one holds no more of this engine than its slots.
    to.answered = undefined;
    readiness.dispose();
    pump();
  }

  // Calls earlier pages left go before this page's own, in their order, once CIF is ready.
  outbox?.claim(
    (entries) => {
      const [batch] = batches.open(entries.length);
      const now = clock();
      for (const entry of entries) submit(entry.call, batch, closing && shutDownError, now, entry);
    },
    () => {
      claiming = false;
      // Only for calls waiting: readiness looks for the page's library at the first call, not as this is made.
      if (admitted) pump();
    },
  );

  return {
    deliver(calls, refuse = closing && shutDownError) {
      const [batch, done] = batches.open(calls.length);
      const now = clock();
      // Refused whole or admitted whole: a shutdown that a call's host or logger starts admits the rest, and waits for it.
      for (const call of calls) submit(call, batch, refuse, now);
      return done;
    },
    async flush(timeoutMillis) {
      if (stuck()) return;
      let unstall!: () => void;
      await batches.flush(timeoutMillis, undefined, new Promise<void>((resolve) => stalls.add((unstall = resolve))));
      stalls.delete(unstall);
    },
    shutdown: () => (closing ??= close()),
    get isClosed() {
      return !!closing;
    },
  };
}
