import type { CifCall } from '../types.js';
import type { OutboxEntry } from './outbox.js';
import { Queue } from './queue.js';
import type { Batch } from './report.js';

/**
 * Where a call is: `waiting` for CIF or a free slot; `due` for a retry, its backoff over, waiting
 * for a slot only; in `backoff`; `in_flight` at the host; `settled`, delivered or dropped.
 */
export type JobState = 'waiting' | 'due' | 'backoff' | 'in_flight' | 'settled';

/** One admitted call and what the engine knows of it. */
export interface Job {
  readonly call: CifCall;
  /** Its rank in admission order: every place keeps its calls in this order. */
  readonly seq: number;
  readonly events: number;
  readonly batch: Batch;
  state: JobState;
  /** When a call still waiting for CIF gives up (monotonic millis): from its admission, then from its first attempt. */
  readyBy: number;
  /** Attempts spent; one that failed before `CIFInitDone` is given back. */
  attempts: number;
  /** Whether the host was called for it yet, so that later calls count as retries. */
  called: boolean;
  /** When the attempt in flight times out, or the backoff ends (monotonic millis). */
  due: number;
  /** The attempt in flight, cut loose when the job leaves the host so a silent host cannot hold the job. */
  attempt: Attempt | undefined;
  /** Its index among the running calls while in flight. */
  slot: number;
  /** Its call in the outbox, where there is one. */
  readonly entry: OutboxEntry | undefined;
}

/** Links a host answer to its job until the job stops caring (timeout, shutdown). */
export interface Attempt {
  job: Job | undefined;
  /** Set while the attempt timed out and may still run at the host, holding its slot until then. */
  heldUntil: number;
}

export type JobTable = ReturnType<typeof createJobTable>;

const rank = (job: Job): number => job.seq;

/** The jobs not at the host, each in the one place its state names, each place in admission order. */
export function createJobTable() {
  const waiting = new Queue<Job>();
  const due = new Queue<Job>();
  let backoff: Job[] = [];
  return {
    waiting,
    /** Puts `job` in the place of `state`. */
    put(job: Job, state: 'waiting' | 'due' | 'backoff'): void {
      job.state = state;
      if (state === 'backoff') backoff.push(job);
      else (state === 'waiting' ? waiting : due).insert(job, rank);
    },
    /** Takes the oldest job that may go now: one due for a retry, or a waiting one once CIF is `ready`. */
    next(ready: boolean): Job | undefined {
      const first = ready ? waiting.first : undefined;
      const retry = due.first;
      return first && !(retry && retry.seq < first.seq) ? waiting.shift() : due.shift();
    },
    /** Makes the jobs whose backoff ended by `now` due. */
    endBackoffs(now: number): void {
      backoff = backoff.filter((job) => {
        if (job.due > now) return true;
        job.state = 'due';
        due.insert(job, rank);
        return false;
      });
    },
    /** When the next backoff ends. */
    nextBackoff(): number {
      return backoff.reduce((next, job) => Math.min(next, job.due), Infinity);
    },
    /** When the first wait for CIF of the waiting jobs ends. */
    readyBy(): number {
      let readyBy = Infinity;
      for (const job of waiting) readyBy = Math.min(readyBy, job.readyBy);
      return readyBy;
    },
    /** Takes every job, oldest first. */
    takeAll(): Job[] {
      const all = [...due.takeAll(), ...backoff, ...waiting.takeAll()];
      backoff = [];
      return all.sort((a, b) => a.seq - b.seq);
    },
  };
}
