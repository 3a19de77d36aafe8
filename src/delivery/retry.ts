/** When a rejected or throwing call is tried again. */
export interface RetryPolicy {
  /** Attempts per call, the first one included. */
  maxAttempts: number;
  /** Wait before the first retry, before jitter. */
  initialBackoffMillis: number;
  /** Longest wait between two attempts, jitter included. */
  maxBackoffMillis: number;
}

/** Each wait is its exponential value times a random factor in [1 - JITTER, 1 + JITTER). */
export const BACKOFF_JITTER = 0.2;

/**
 * Milliseconds to wait after the `failedAttempts`-th failed attempt: `initialBackoffMillis`
 * doubled per earlier failure, capped at `maxBackoffMillis`, with jitter so that calls that
 * failed together do not all come back at the same moment.
 */
export function backoffMillis(failedAttempts: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponential = policy.initialBackoffMillis * 2 ** Math.max(0, failedAttempts - 1);
  const base = Math.min(policy.maxBackoffMillis, exponential);
  const jittered = base * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * random());
  return Math.min(policy.maxBackoffMillis, Math.round(jittered));
}
