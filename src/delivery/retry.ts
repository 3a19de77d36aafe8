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
const BACKOFF_JITTER = 0.2;

/**
 * Milliseconds to wait after the `failedAttempts`-th failed attempt (1 or more):
 * `initialBackoffMillis` doubled per earlier failure, capped at `maxBackoffMillis`, with jitter so
 * that calls that failed together do not all come back at the same moment.
 */
export function backoffMillis(failedAttempts: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const { maxBackoffMillis } = policy;
  // 0 doubled past 1024 times is 0 times Infinity: no wait, not NaN.
  const base = Math.min(maxBackoffMillis, policy.initialBackoffMillis * 2 ** (failedAttempts - 1)) || 0;
  // A `random` that gives no number (a page's stub), one that cannot be used as one (a BigInt), or throws (SES's
  // hardened Math) leaves no jitter, not a wait that never ends.
  try {
    return Math.min(maxBackoffMillis, Math.round(base * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * random()))) || base;
  } catch {
    return base;
  }
}
