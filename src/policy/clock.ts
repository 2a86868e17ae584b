import { listenAbort, unlistenAbort } from '../core/context.js';
import { RpcError } from '../core/errors.js';

export type TimerHandle = unknown;

/**
 * Time as the policies see it. Injected through options so tests drive a fake clock instead
 * of patching globals. `now` is epoch ms, the unit of `CallContext.deadline`.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: Date.now,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Background timers (outlier sweeps, breaker wake-ups, failback) must never keep a process alive. */
export function unref(handle: TimerHandle): TimerHandle {
  (handle as { unref?: () => void } | undefined)?.unref?.();
  return handle;
}

/** The abort reason as an RpcError: deadline filters abort with one, callers usually do not. */
export function abortError(signal: AbortSignal): RpcError {
  const reason = signal.reason;
  if (reason instanceof RpcError) return reason;
  return new RpcError('CANCELLED', 'call cancelled', { cause: reason, mayHaveProcessed: false });
}

/** Waits `ms` on `clock`; rejects at once with the abort reason when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(abortError(signal!));
    };
    const handle = clock.setTimeout(() => {
      if (signal) unlistenAbort(signal, onAbort);
      resolve();
    }, ms);
    if (signal) listenAbort(signal, onAbort);
  });
}
