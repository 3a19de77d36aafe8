import type { CifCall } from '../types.js';
import type { OutboxEntry } from './outbox.js';
import type { Batch } from './report.js';

/**
 * One admitted call and what the engine knows of it. Its place is its state: `waiting` for CIF or
 * a free slot, `retrying` (in backoff, or due), at the host in a slot; settled, it is in none.
 */
export interface Job {
  readonly call: CifCall;
  /** Its rank in admission order: every place keeps its calls in this order. */
  readonly seq: number;
  readonly events: number;
  readonly batch: Batch;
  /** Its call in the outbox, where there is one. */
  entry: OutboxEntry | undefined;
  /** When a call still waiting for CIF gives up (monotonic millis): from its admission, then from its first attempt. */
  readyBy: number;
  /** Attempts spent; one that failed before `CIFInitDone` is given back. */
  attempts: number;
  /** Whether the host was called for it yet, so that later calls count as retries. */
  called: boolean;
  /** When a retrying call may go again, CIF ready or not (monotonic millis). */
  due: number;
  /** The job waiting behind it, while it waits. */
  behind?: Job | undefined;
}

export type JobTable = ReturnType<typeof createJobTable>;

/**
 * The jobs not at the host, each in one place, each place in admission order. The waiting jobs
 * are a list linked by `behind`, so that taking the first costs the same however many wait.
 */
export function createJobTable() {
  let first: Job | undefined;
  let last: Job | undefined;
  let waiting = 0;
  /** Calls that go again at their `due`, CIF ready or not: retries, and calls past their wait for CIF while the library is there. */
  const retrying: Job[] = [];

  /** Every waiting job, first to last. */
  const list = (): Job[] => {
    const jobs: Job[] = [];
    for (let job = first; job; job = job.behind) jobs.push(job);
    return jobs;
  };
  /** Puts `job` to wait: last, as most jobs come, or in its rank before newer ones when it comes back. */
  const wait = (job: Job): void => {
    waiting++;
    job.behind = undefined;
    if (!last) {
      first = job;
      last = job;
    } else if (last.seq < job.seq) {
      last.behind = job;
      last = job;
    } else if (first!.seq > job.seq) {
      job.behind = first;
      first = job;
    } else {
      let before = first!;
      while (before.behind!.seq < job.seq) before = before.behind!;
      job.behind = before.behind;
      before.behind = job;
    }
  };
  /** Takes the waiting jobs `test` picks (every one without it), first to last; the others keep their order. */
  const take = (test: (job: Job) => boolean = () => true): Job[] => {
    const all = list();
    first = undefined;
    last = undefined;
    waiting = 0;
    const taken: Job[] = [];
    for (const job of all) {
      if (test(job)) {
        job.behind = undefined;
        taken.push(job);
      } else wait(job);
    }
    return taken;
  };

  return {
    /** How many jobs wait. */
    get waiting(): number {
      return waiting;
    },
    list,
    take,
    /** Puts `job` in `retrying` when `due` is given, else to wait, in its rank among the others. */
    put(job: Job, due?: number): void {
      if (due === undefined) return wait(job);
      job.due = due;
      let i = retrying.length;
      while (i > 0 && retrying[i - 1]!.seq > job.seq) i--;
      retrying.splice(i, 0, job);
    },
    /** Takes the oldest job that may go now, on `clock`: a retrying one that is due, or a waiting one once CIF is `ready`. */
    next(ready: boolean, clock: () => number): Job | undefined {
      let i = -1;
      if (retrying.length > 0) {
        const now = clock();
        i = retrying.findIndex((job) => job.due <= now);
      }
      const job = ready ? first : undefined;
      if (!job || (i >= 0 && retrying[i]!.seq < job.seq)) return i < 0 ? undefined : retrying.splice(i, 1)[0];
      first = job.behind;
      if (!first) last = undefined;
      job.behind = undefined;
      waiting--;
      return job;
    },
    /** When the next retrying job falls due after `now`. */
    nextDue(now: number): number {
      let next = Infinity;
      for (const job of retrying) if (job.due > now) next = Math.min(next, job.due);
      return next;
    },
    /** When the first wait for CIF of the waiting jobs ends. */
    readyBy(): number {
      let readyBy = Infinity;
      for (let job = first; job; job = job.behind) readyBy = Math.min(readyBy, job.readyBy);
      return readyBy;
    },
    /** Takes every job, and `more`, oldest first. */
    takeAll(more: Job[] = []): Job[] {
      return [...take(), ...retrying.splice(0), ...more].sort((a, b) => a.seq - b.seq);
    },
  };
}
