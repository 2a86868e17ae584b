import { type CallContext, NEVER_ABORTED, withContext } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import type { Filter, Service } from '../core/service.js';
import { abortError, type Clock, systemClock } from './clock.js';

export interface TimeoutOptions {
  /** Budget for the whole call, all attempts and backoff included. The earlier of this and the caller's deadline wins. */
  totalMs?: number;
  clock?: Clock;
}

/**
 * The total deadline: tightens `ctx.deadline`, and gives the layers below a signal that
 * aborts when it passes, so sleeping retries, queued bulkhead waiters and in-flight calls
 * all stop together. Rejects with DEADLINE_EXCEEDED as soon as the deadline passes, without
 * waiting for the layers below to notice. Place it outside retry.
 */
export function timeout(options: TimeoutOptions = {}): Filter {
  const { totalMs } = options;
  const clock = options.clock ?? systemClock;
  if (totalMs !== undefined && !(totalMs >= 0)) throw new RangeError('timeout: totalMs must be >= 0');
  return (req, ctx, next) => {
    const now = clock.now();
    const deadline = totalMs === undefined ? ctx.deadline : Math.min(ctx.deadline, now + totalMs);
    return runUntil(req, ctx, next, deadline, now, clock, false);
  };
}

export interface AttemptTimeoutOptions {
  clock?: Clock;
}

/**
 * A per-attempt timeout: place it inside retry (or hedge) so a hung instance costs one
 * attempt, not the whole budget. Retry sees DEADLINE_EXCEEDED and tries again only while
 * the total deadline leaves time.
 */
export function attemptTimeout(ms: number, options: AttemptTimeoutOptions = {}): Filter {
  if (!(ms > 0)) throw new RangeError('attemptTimeout: ms must be > 0');
  const clock = options.clock ?? systemClock;
  return (req, ctx, next) => {
    const now = clock.now();
    return runUntil(req, ctx, next, Math.min(ctx.deadline, now + ms), now, clock, true);
  };
}

function runUntil<Req, Res>(
  req: Req,
  ctx: CallContext,
  next: Service<Req, Res>,
  deadline: number,
  now: number,
  clock: Clock,
  perAttempt: boolean,
): Promise<Res> {
  // No deadline at all: nothing to enforce, and nothing to allocate.
  if (deadline === Number.POSITIVE_INFINITY) return next(req, ctx);
  if (deadline <= now) {
    return Promise.reject(
      new RpcError('DEADLINE_EXCEEDED', 'deadline expired before the call started', {
        mayHaveProcessed: false,
      }),
    );
  }
  if (ctx.signal.aborted) return Promise.reject(abortError(ctx.signal));
  const controller = new AbortController();
  const signal =
    ctx.signal === NEVER_ABORTED ? controller.signal : AbortSignal.any([ctx.signal, controller.signal]);
  const inner = withContext(ctx, { deadline, signal });
  const ms = deadline - now;
  return new Promise<Res>((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = clock.setTimeout(() => {
      const what = perAttempt ? 'attempt' : 'call';
      controller.abort(
        new RpcError('DEADLINE_EXCEEDED', `${what} deadline of ${Math.round(ms)} ms exceeded`),
      );
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = () => {
      clock.clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    let pending: Promise<Res>;
    try {
      pending = next(req, inner);
    } catch (err) {
      settle();
      reject(err);
      return;
    }
    pending.then(
      (res) => {
        settle();
        resolve(res);
      },
      (err) => {
        settle();
        reject(err);
      },
    );
  });
}
