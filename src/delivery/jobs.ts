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
}

export type JobTable = ReturnType<typeof createJobTable>;

/** Puts `job` in `jobs` in its rank: last, as most jobs come, or before newer ones when it comes back. */
function insert(jobs: Job[], job: Job): void {
  const last = jobs[jobs.length - 1];
  if (!last || last.seq < job.seq) jobs.push(job);
  else jobs.splice(jobs.findIndex((other) => other.seq > job.seq), 0, job);
}

/** The jobs not at the host, each in one place, each place in admission order. */
export function createJobTable() {
  /** Calls waiting for CIF or a free slot. Taking the first is cheap: V8 moves the array's start. */
  const waiting: Job[] = [];
  /** Calls that go again at their `due`, CIF ready or not: retries, and calls past their wait for CIF while the library is there. */
  const retrying: Job[] = [];

  /** Takes the waiting jobs `test` picks (every one without it), first to last; the others keep their order. */
  const take = (test: (job: Job) => boolean = () => true): Job[] => {
    const taken: Job[] = [];
    let kept = 0;
    for (const job of waiting) {
      if (test(job)) taken.push(job);
      else waiting[kept++] = job;
    }
    waiting.length = kept;
    return taken;
  };

  return {
    /** The waiting jobs, first to last. */
    waiting: waiting as readonly Job[],
    take,
    /** Puts `job` in `retrying` when `due` is given, else to wait, in its rank among the others. */
    put(job: Job, due?: number): void {
      if (due === undefined) return insert(waiting, job);
      job.due = due;
      insert(retrying, job);
    },
    /** Takes the oldest job that may go now, on `clock`: a retrying one that is due, or a waiting one once CIF is `ready`. */
    next(ready: boolean, clock: () => number): Job | undefined {
      let i = -1;
      // The clock is read only when a job retries: most calls go without.
      if (retrying.length > 0) {
        const now = clock();
        i = retrying.findIndex((job) => job.due <= now);
      }
      const first = ready ? waiting[0] : undefined;
      if (first && !(i >= 0 && retrying[i]!.seq < first.seq)) return waiting.shift();
      return i < 0 ? undefined : retrying.splice(i, 1)[0];
    },
    /** When the next retrying job falls due after `now`. */
    nextDue(now: number): number {
      return retrying.reduce((next, job) => (job.due > now ? Math.min(next, job.due) : next), Infinity);
    },
    /** When the first wait for CIF of the waiting jobs ends. */
    readyBy(): number {
      return waiting.reduce((first, job) => Math.min(first, job.readyBy), Infinity);
    },
    /** Takes every job, and `more`, oldest first. */
    takeAll(more: Job[] = []): Job[] {
      return [...take(), ...retrying.splice(0), ...more].sort((a, b) => a.seq - b.seq);
    },
  };
}
