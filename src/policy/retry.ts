import { type CallContext, withContext } from '../core/context.js';
import { type RpcError, toRpcError } from '../core/errors.js';
import { createEmitter, type Event } from '../core/events.js';
import { type Filter, invoke, type Service } from '../core/service.js';
import { type Backoff, exponentialBackoff } from './backoff.js';
import { type RetryBudget, retryBudget } from './budget.js';
import { shouldRetry } from './classify.js';
import { type Clock, sleep, systemClock } from './clock.js';

export interface RetryEvent {
  method: string;
  /** The attempt about to start (2 for the first retry). */
  attempt: number;
  delayMs: number;
  error: RpcError;
}

export type GiveUpReason = 'attempts' | 'budget' | 'deadline' | 'cancelled';

export interface GiveUpEvent {
  method: string;
  attempts: number;
  reason: GiveUpReason;
  error: RpcError;
}

export interface RetryOptions {
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number;
  /** Default: exponential backoff with full jitter, 100 ms base, 1 s cap. */
  backoff?: Backoff;
  /** Default: a fresh 20 %/10 per s/10 s budget per filter; `false` for none. */
  budget?: RetryBudget | false;
  /**
   * Whether an error deserves another attempt. Default: UNAVAILABLE, DEADLINE_EXCEEDED or
   * RESOURCE_EXHAUSTED from a server (not a local policy), and only when the method is
   * idempotent or the error proves no handler ran (`mayHaveProcessed === false`).
   */
  retryOn?: (err: RpcError, ctx: CallContext) => boolean;
  clock?: Clock;
}

export type RetryFilter = Filter & {
  readonly onRetry: Event<RetryEvent>;
  readonly onGiveUp: Event<GiveUpEvent>;
};

const defaultRetryOn = (err: RpcError, ctx: CallContext) => shouldRetry(err, ctx.idempotent);

/**
 * Retries failed attempts that are safe to repeat. Each attempt raises `ctx.attempt` and
 * adds the instance that failed to `ctx.avoid`, so the balancer below picks another one.
 * It never sleeps past the deadline: a retry that could not start in time is not taken.
 */
export function retry(options: RetryOptions = {}): RetryFilter {
  const maxAttempts = options.maxAttempts ?? 3;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1))
    throw new RangeError('retry: maxAttempts must be an integer >= 1');
  const clock = options.clock ?? systemClock;
  const backoff = options.backoff ?? exponentialBackoff();
  const budget = options.budget === false ? undefined : (options.budget ?? retryBudget({ clock }));
  const retryOn = options.retryOn ?? defaultRetryOn;
  const retried = createEmitter<RetryEvent>();
  const gaveUp = createEmitter<GiveUpEvent>();

  const giveUp = (ctx: CallContext, attempts: number, reason: GiveUpReason, error: RpcError) => {
    if (gaveUp.size > 0) gaveUp.emit({ method: ctx.method, attempts, reason, error });
  };

  // The fast path: the first attempt's promise, with a rejection handler and nothing else
  // (no async frame, no context copy); the retry loop starts only when it fails.
  const filter: Filter = (req, ctx, next) => {
    budget?.deposit();
    const first = invoke(next, req, ctx);
    return maxAttempts === 1
      ? first
      : first.then(undefined, (err: unknown) => retryAfter(err, req, ctx, next));
  };

  const retryAfter = async (
    first: unknown,
    req: unknown,
    ctx: CallContext,
    next: Service,
  ): Promise<unknown> => {
    let thrown = first;
    let avoid: Set<string> | undefined;
    let previousDelay = 0;
    for (let n = 1; ; n++) {
      const err = toRpcError(thrown);
      if (!retryOn(err, ctx)) throw thrown;
      if (n >= maxAttempts) {
        giveUp(ctx, n, 'attempts', err);
        throw thrown;
      }
      if (ctx.signal.aborted) {
        giveUp(ctx, n, 'cancelled', err);
        throw thrown;
      }
      const delay = backoff(n, previousDelay);
      previousDelay = delay;
      // An attempt that starts at the deadline cannot succeed; report the real failure instead.
      if (clock.now() + delay >= ctx.deadline) {
        giveUp(ctx, n, 'deadline', err);
        throw thrown;
      }
      // Only look at the budget here: the token is taken after the backoff, so a caller
      // who cancels during the sleep does not spend one on a retry that never ran.
      if (budget && budget.balance() < 1) {
        giveUp(ctx, n, 'budget', err);
        throw thrown;
      }
      if (err.instance !== undefined) {
        avoid ??= new Set(ctx.avoid);
        avoid.add(err.instance);
      }
      const attempt = ctx.attempt + n;
      if (retried.size > 0) retried.emit({ method: ctx.method, attempt, delayMs: delay, error: err });
      if (delay > 0) {
        try {
          await sleep(clock, delay, ctx.signal);
        } catch {
          giveUp(ctx, n, 'cancelled', err);
          throw thrown;
        }
        // A late timer can wake us at or past the deadline.
        if (clock.now() >= ctx.deadline) {
          giveUp(ctx, n, 'deadline', err);
          throw thrown;
        }
      }
      // Other calls may have drained the budget during the sleep.
      if (budget && !budget.tryWithdraw()) {
        giveUp(ctx, n, 'budget', err);
        throw thrown;
      }
      try {
        return await next(req, withContext(ctx, avoid ? { attempt, avoid } : { attempt }));
      } catch (again) {
        thrown = again;
      }
    }
  };
  return Object.assign(filter, { onRetry: retried.event, onGiveUp: gaveUp.event });
}
