/** Exponential backoff with optional jitter, shared by the queue, Job retries and watch restarts. */
export interface BackoffPolicy {
  /** Milliseconds before the first retry. */
  initial: number;
  /** Upper bound in milliseconds. */
  max: number;
  /** Fraction of the delay added at random (0.2 → up to +20 %), so restarts do not align. */
  jitter?: number;
}

/** Delay in ms before retry number `attempt` (1 = first retry). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  // 2**exponent overflows to Infinity for big attempt counts; min() keeps it at max.
  const base = Math.min(policy.max, policy.initial * 2 ** Math.min(exponent, 52));
  const jitter = policy.jitter ? base * policy.jitter * random() : 0;
  return Math.round(Math.min(policy.max, base + jitter));
}
