import { createEmitter, type Event } from '../core/events.js';
import type { Filter } from '../core/service.js';
import { rejection, type ShedEvent } from './classify.js';
import { type Clock, sleep, systemClock } from './clock.js';

export interface RateLimitOptions {
  /** Sustained calls per second. */
  rate: number;
  /** Calls allowed in a burst (bucket size). Default: one second's worth, at least 1. */
  burst?: number;
  /** Wait up to this long for a token instead of failing at once. Default 0. */
  maxWaitMs?: number;
  clock?: Clock;
}

export type RateLimitFilter = Filter & { readonly onShed: Event<ShedEvent> };

/**
 * A token bucket. Waiting callers reserve their token up front (the balance may go
 * negative), so they are served in arrival order without a queue, and a cancelled waiter
 * gives its token back. Rejections are RESOURCE_EXHAUSTED and never processed.
 */
export function rateLimit(options: RateLimitOptions): RateLimitFilter {
  const { rate } = options;
  const burst = options.burst ?? Math.max(1, rate);
  const maxWaitMs = options.maxWaitMs ?? 0;
  const clock = options.clock ?? systemClock;
  if (!(rate > 0)) throw new RangeError('rateLimit: rate must be > 0');
  if (!(burst >= 1)) throw new RangeError('rateLimit: burst must be >= 1');
  const perMs = rate / 1000;
  const shed = createEmitter<ShedEvent>();
  let tokens = burst;
  let stamp = clock.now();

  const refill = (now: number) => {
    tokens = Math.min(burst, tokens + (now - stamp) * perMs);
    stamp = now;
  };

  const filter: Filter = async (req, ctx, next) => {
    const now = clock.now();
    refill(now);
    if (tokens >= 1) {
      tokens -= 1;
      return next(req, ctx);
    }
    const waitMs = (1 - tokens) / perMs;
    if (waitMs > maxWaitMs || now + waitMs >= ctx.deadline) {
      const reason = waitMs > maxWaitMs ? 'rate' : 'deadline';
      if (shed.size > 0) shed.emit({ method: ctx.method, policy: 'rate-limit', reason });
      throw rejection('RESOURCE_EXHAUSTED', 'rate-limit', `rate limit of ${rate}/s exceeded`);
    }
    tokens -= 1;
    try {
      await sleep(clock, waitMs, ctx.signal);
    } catch (err) {
      tokens += 1;
      throw err;
    }
    return next(req, ctx);
  };
  return Object.assign(filter, { onShed: shed.event });
}
