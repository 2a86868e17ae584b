import { type CallContext, listenAbort, MAX_TIMER_MS, unlistenAbort, withContext } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import type { Filter, Service } from '../core/service.js';
import { abortError, type Clock, systemClock } from './clock.js';
import { childSignal } from './signal.js';

export interface TimeoutOptions {
  /** Budget for the whole call, all attempts and backoff included. The earlier of this and the caller's deadline wins. */
  totalMs?: number;
  /**
   * Also give the layers below a child signal that aborts at the deadline. Off by default:
   * every Tensile layer (connection, retry, hedge, bulkhead queue) enforces `ctx.deadline`
   * itself, and on Node 20 creating an AbortSignal costs about 10 µs per call. Turn it on
   * for inner services that only watch the signal.
   */
  abortSignal?: boolean;
  clock?: Clock;
}

/**
 * The total deadline: tightens `ctx.deadline` for every layer below (each of which stops
 * at it: retry never sleeps past it, queues drop waiters, the connection times the call
 * out) and rejects with DEADLINE_EXCEEDED the moment it passes, without waiting for them.
 * With `abortSignal` the layers below also get a signal that aborts then. Place it outside retry.
 */
export function timeout(options: TimeoutOptions = {}): Filter {
  const { totalMs } = options;
  const clock = options.clock ?? systemClock;
  const abort = options.abortSignal ?? false;
  if (totalMs !== undefined && !(totalMs >= 0)) throw new RangeError('timeout: totalMs must be >= 0');
  return (req, ctx, next) => {
    const now = clock.now();
    const deadline = totalMs === undefined ? ctx.deadline : Math.min(ctx.deadline, now + totalMs);
    return runUntil(req, ctx, next, deadline, now, clock, false, abort);
  };
}

export interface AttemptTimeoutOptions {
  /** As for `timeout`: a child signal that aborts when the attempt times out. Default false. */
  abortSignal?: boolean;
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
  const abort = options.abortSignal ?? false;
  return (req, ctx, next) => {
    const now = clock.now();
    return runUntil(req, ctx, next, Math.min(ctx.deadline, now + ms), now, clock, true, abort);
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
  abort: boolean,
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
  const child = abort ? childSignal(ctx.signal) : undefined;
  const inner = withContext(ctx, child ? { deadline, signal: child.signal } : { deadline });
  const ms = deadline - now;
  return new Promise<Res>((resolve, reject) => {
    let done = false;
    const settle = () => {
      done = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      child?.dispose();
      unlistenAbort(ctx.signal, onAbort);
    };
    const onAbort = () => {
      if (done) return;
      settle();
      reject(abortError(ctx.signal));
    };
    // Node fires a timer longer than MAX_TIMER_MS (~24.8 days) after 1 ms; a deadline that
    // far away gets no timer, and the layers below still see ctx.deadline.
    const timer =
      ms > MAX_TIMER_MS
        ? undefined
        : clock.setTimeout(() => {
            if (done) return;
            const what = perAttempt ? 'attempt' : 'call';
            const err = new RpcError(
              'DEADLINE_EXCEEDED',
              `${what} deadline of ${Math.round(ms)} ms exceeded`,
            );
            settle();
            child?.abort(err);
            reject(err);
          }, ms);
    listenAbort(ctx.signal, onAbort);
    let pending: Promise<Res>;
    try {
      pending = next(req, inner);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (res) => {
        if (done) return;
        settle();
        resolve(res);
      },
      (err) => {
        if (done) return;
        settle();
        reject(err);
      },
    );
  });
}
