/**
 * A backoff: the delay before retry number `retry` (1 for the first retry), given the
 * previous delay (0 before the first). Pure, so one instance serves every call.
 */
export type Backoff = (retry: number, previousMs: number) => number;

export interface ExponentialBackoffOptions {
  /** Base delay. Default 100 ms. */
  baseMs?: number;
  /** Cap on any single delay. Default 1 s: RPC retries live inside a deadline. */
  maxMs?: number;
  /**
   * full (default): uniform in [0, min(cap, base·2^(retry-1))], the AWS "full jitter" that
   * spreads synchronized clients best. equal: uniform in the upper half of that range, for
   * background loops that must not retry at once. decorrelated: min(cap, uniform in
   * [base, 3·previous]). none: the bare exponential.
   */
  jitter?: 'full' | 'equal' | 'decorrelated' | 'none';
  /** Uniform [0, 1); inject a seeded PRNG for deterministic tests. */
  random?: () => number;
}

/** Exponential backoff with jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"). */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): Backoff {
  const base = options.baseMs ?? 100;
  const cap = options.maxMs ?? 1_000;
  const random = options.random ?? Math.random;
  if (!(base > 0) || !(cap >= base)) throw new RangeError('exponentialBackoff: need 0 < baseMs <= maxMs');
  switch (options.jitter ?? 'full') {
    case 'full':
      return (retry) => random() * ceiling(base, cap, retry);
    case 'equal':
      return (retry) => ceiling(base, cap, retry) * (0.5 + random() / 2);
    case 'decorrelated':
      return (_retry, previous) => {
        const upper = Math.max(base, 3 * (previous > 0 ? previous : base));
        return Math.min(cap, base + random() * (upper - base));
      };
    case 'none':
      return (retry) => ceiling(base, cap, retry);
  }
}

function ceiling(base: number, cap: number, retry: number): number {
  // Clamp the exponent: 2^1024 is Infinity, and the cap is reached long before.
  return Math.min(cap, base * 2 ** Math.min(Math.max(retry - 1, 0), 52));
}

export function constantBackoff(ms: number): Backoff {
  if (!(ms >= 0)) throw new RangeError('constantBackoff: ms must be >= 0');
  return () => ms;
}
