import type { Attempt, Job } from './jobs.js';

export type Slots = ReturnType<typeof createSlots>;

/**
 * The `max` slots at the host: the calls in flight, and timed-out calls that may still run there.
 * A timed-out call keeps its slot until the host answers it, or until the host's own limit has
 * surely passed, so calls wait instead of piling onto a host that does not answer.
 */
export function createSlots(max: number) {
  const running: Job[] = [];
  const held: Attempt[] = [];
  return {
    running: running as readonly Job[],
    held: held as readonly Attempt[],
    /** Whether a call may start now. */
    get free(): boolean {
      return running.length + held.length < max;
    },
    /** Puts `job` at the host until `due`, under a new attempt that its answer holds. */
    start(job: Job, due: number): Attempt {
      const attempt: Attempt = { job, heldUntil: 0 };
      job.attempt = attempt;
      job.state = 'in_flight';
      job.due = due;
      job.slot = running.push(job) - 1;
      return attempt;
    },
    /** Takes `job` off the host: its slot is free and a later answer no longer reaches it. */
    stop(job: Job): Attempt {
      const last = running.pop()!;
      if (last !== job) {
        running[job.slot] = last;
        last.slot = job.slot;
      }
      const attempt = job.attempt!;
      attempt.job = undefined;
      job.attempt = undefined;
      return attempt;
    },
    /** Keeps the slot of an attempt that timed out until `until`. */
    hold(attempt: Attempt, until: number): void {
      attempt.heldUntil = until;
      held.push(attempt);
    },
    /** Frees the slot `attempt` holds; false when it holds none. */
    release(attempt: Attempt): boolean {
      if (attempt.heldUntil === 0) return false;
      held.splice(held.indexOf(attempt), 1);
      attempt.heldUntil = 0;
      return true;
    },
    releaseAll(): void {
      for (const attempt of held.splice(0)) attempt.heldUntil = 0;
    },
    /** The earliest deadline of the slots: a timeout in flight, or the end of a hold. */
    nextDeadline(): number {
      let next = Infinity;
      for (const job of running) next = Math.min(next, job.due);
      for (const attempt of held) next = Math.min(next, attempt.heldUntil);
      return next;
    },
  };
}
