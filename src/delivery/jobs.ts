import type { CifCall } from '../types.js';
import type { OutboxEntry } from './outbox.js';
import { Queue } from './queue.js';
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

/** The jobs not at the host, each in one place, each place in admission order. */
export function createJobTable() {
  const waiting = new Queue<Job>((job) => job.seq);
  /** Calls that go again at their `due`, CIF ready or not: retries, and calls past their wait for CIF while the library is there. */
  const retrying: Job[] = [];
  return {
    waiting,
    /** Puts `job` in `retrying` when `due` is given, else in `waiting`, in its rank among the others. */
    put(job: Job, due?: number): void {
      if (due === undefined) return waiting.insert(job);
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
      const first = ready ? waiting.first : undefined;
      if (first && !(i >= 0 && retrying[i]!.seq < first.seq)) return waiting.shift();
      return i < 0 ? undefined : retrying.splice(i, 1)[0];
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
      for (const job of waiting) readyBy = Math.min(readyBy, job.readyBy);
      return readyBy;
    },
    /** Takes every job, and `more`, oldest first. */
    takeAll(more: Job[] = []): Job[] {
      return [...waiting.take(), ...retrying.splice(0), ...more].sort((a, b) => a.seq - b.seq);
    },
  };
}
