import { exponentialBackoff } from '../policy/backoff.js';

export interface CrashBackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Crash-free time, counted from the end of the last delay, that forgives earlier crashes. */
  stableMs: number;
}

/**
 * Restart delays after crashes: doubling from initialMs up to maxMs while crashes keep
 * coming, back to initialMs once the pool has run stableMs past the last delay without
 * one, so a burst long ago does not slow the restart after the next lone crash.
 */
export function crashBackoff(options: CrashBackoffOptions) {
  const delay = exponentialBackoff({
    baseMs: Math.max(1, options.initialMs),
    maxMs: Math.max(1, options.maxMs, options.initialMs),
    jitter: 'none',
  });
  let crashes = 0;
  let until = 0;
  return {
    /** Records a crash at `now` and returns how long to wait before the next start. */
    crash(now: number): number {
      // Measured from the end of the delay, not from the crash: a crash loop at maxMs
      // would otherwise look stable and fall back to the fastest restarts.
      if (now - until >= options.stableMs) crashes = 0;
      crashes++;
      const delayMs = delay(crashes, 0);
      until = now + delayMs;
      return delayMs;
    },
    /** Epoch ms before which no child should be started. */
    get until(): number {
      return until;
    },
  };
}
