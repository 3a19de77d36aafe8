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
  /** Told once of its call: when it settles, or earlier when the outbox keeps it or, with an outbox, it goes to the host in the task that admitted it. */
  batch: Batch;
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

/** A place in the list of waiting jobs: a job, or the list's head, ranked before every job. */
type Link = Pick<Job, 'seq' | 'behind'>;

export type JobTable = ReturnType<typeof createJobTable>;

/**
 * The jobs not at the host, each in one place, each place in admission order. The waiting jobs
 * are a list linked by `behind`, so that taking the first costs the same however many wait.
 */
export function createJobTable() {
  const head: Link = { seq: -Infinity };
  /** Where `put()` starts looking for the place of a job newer than it: the job put last, or one before it, or the head. */
  let last: Link = head;
  let waiting = 0;
  /** Calls that go again at their `due`, CIF ready or not: retries, and calls past their wait for CIF while the library is there. */
  const retrying: Job[] = [];
  /** No retrying job falls due before this, so `next()` looks at none of them until then. */
  let soonest = Infinity;

  /** When the next retrying job falls due after `now`. */
  const nextDue = (now: number): number => retrying.reduce((next, job) => (job.due > now ? Math.min(next, job.due) : next), Infinity);

  /** Takes the waiting jobs `test` picks (every one without it), first to last; the others keep their order. */
  const take = (test?: (job: Job) => boolean): Job[] => {
    const taken: Job[] = [];
    let before = head;
    for (let job = head.behind; job; job = before.behind) {
      if (!test || test(job)) {
        before.behind = job.behind;
        job.behind = undefined;
        waiting--;
        taken.push(job);
      } else before = job;
    }
    last = before;
    return taken;
  };

  return {
    /** How many jobs wait. */
    get waiting(): number {
      return waiting;
    },
    take,
    /** Puts `job` to wait, or in `retrying` when `due` is given, in its rank among the others. */
    put(job: Job, due?: number): void {
      if (due === undefined) {
        waiting++;
        // Last, as most jobs come; else, coming back, before the first newer one.
        let before = last.seq < job.seq ? last : head;
        while (before.behind && before.behind.seq < job.seq) before = before.behind;
        job.behind = before.behind;
        before.behind = job;
        last = job;
        return;
      }
      job.due = due;
      soonest = Math.min(soonest, due);
      // In rank order, found from the end: calls mostly fail in the order they went, and a burst of failures stays linear.
      let at = retrying.length;
      while (at > 0 && retrying[at - 1]!.seq > job.seq) at--;
      retrying.splice(at, 0, job);
    },
    /** Takes the oldest job that may go now, on `clock`: a retrying one that is due, or a waiting one once CIF is `ready`. */
    next(ready: boolean, clock: () => number): Job | undefined {
      // The clock is read only when a job retries: most calls go without. Jobs in backoff are looked at only once one
      // may be due, so that each call of a burst that failed does not look at all the others again.
      let i = -1;
      if (retrying.length > 0) {
        const now = clock();
        if (now >= soonest) {
          i = retrying.findIndex((job) => job.due <= now);
          // None due: none is until the soonest of them.
          if (i < 0) soonest = nextDue(now);
        }
      }
      const job = ready ? head.behind : undefined;
      if (!job || (i >= 0 && retrying[i]!.seq < job.seq)) return i < 0 ? undefined : retrying.splice(i, 1)[0];
      head.behind = job.behind;
      job.behind = undefined;
      waiting--;
      if (last === job) last = head;
      return job;
    },
    nextDue,
    /** When the first wait for CIF of the waiting jobs ends. */
    readyBy(): number {
      let readyBy = Infinity;
      for (let job = head.behind; job; job = job.behind) readyBy = Math.min(readyBy, job.readyBy);
      return readyBy;
    },
    /** Takes every job, and `more`, oldest first. */
    takeAll(more: Job[]): Job[] {
      // In admission order.
      return [...take(), ...retrying.splice(0), ...more].sort((a, b) => a.seq - b.seq);
    },
  };
}
