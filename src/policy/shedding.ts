import { createEmitter, type Event } from '../core/events.js';
import type { Filter } from '../core/service.js';
import { rejection, type ShedEvent } from './classify.js';

export interface AdaptiveLimitOptions {
  /** Starting limit. Default 20 (Netflix Gradient2). */
  initialLimit?: number;
  /** Never below this. Default 20 (Netflix Gradient2). */
  minLimit?: number;
  /** Never above this. Default 200 (Netflix Gradient2). */
  maxLimit?: number;
  /** Weight of each new estimate. Default 0.2 (Netflix Gradient2). */
  smoothing?: number;
  /** Short RTT may exceed the long-term RTT by this factor before the limit shrinks. Default 1.5. */
  rttTolerance?: number;
  /** Samples in the long-term RTT average. Default 600. */
  longWindow?: number;
  /** Headroom added to each estimate so the limit can probe upwards. Default 4. */
  queueSize?: number;
  /** Millisecond clock for RTTs; default performance.now(). */
  now?: () => number;
}

export interface LimitEvent {
  limit: number;
  previous: number;
}

export type AdaptiveLimitFilter = Filter & {
  readonly onShed: Event<ShedEvent>;
  readonly onLimit: Event<LimitEvent>;
  readonly limit: number;
  readonly inflight: number;
};

/**
 * A server-side adaptive concurrency limit after Netflix's Gradient2: it compares each
 * call's RTT with a long-term average. While RTT stays near that baseline the limit grows
 * by `queueSize` per step; once queueing pushes RTT above `rttTolerance` × the baseline
 * the limit shrinks in proportion (at most by half per step). Calls over the limit are
 * refused at once with RESOURCE_EXHAUSTED, not processed, so the client retries elsewhere
 * instead of the server queueing without bound.
 */
export function adaptiveConcurrency(options: AdaptiveLimitOptions = {}): AdaptiveLimitFilter {
  const minLimit = options.minLimit ?? 20;
  const maxLimit = options.maxLimit ?? 200;
  const smoothing = options.smoothing ?? 0.2;
  const tolerance = options.rttTolerance ?? 1.5;
  const longWindow = options.longWindow ?? 600;
  const queueSize = options.queueSize ?? 4;
  const now = options.now ?? (() => performance.now());
  if (!(minLimit >= 1 && maxLimit >= minLimit))
    throw new RangeError('adaptiveConcurrency: need 1 <= minLimit <= maxLimit');
  if (!(smoothing > 0 && smoothing <= 1)) throw new RangeError('adaptiveConcurrency: smoothing in (0, 1]');
  let estimate = Math.min(maxLimit, Math.max(minLimit, options.initialLimit ?? 20));
  let limit = Math.floor(estimate);
  let inflight = 0;
  const shed = createEmitter<ShedEvent>();
  const changed = createEmitter<LimitEvent>();
  // Long-term RTT: a plain mean over the first samples (warm-up), then an EMA.
  const warmup = Math.min(10, longWindow);
  const alpha = 2 / (longWindow + 1);
  let longRtt = 0;
  let samples = 0;

  const sample = (rtt: number, inflightAtStart: number) => {
    if (!(rtt > 0)) return;
    if (samples < warmup) longRtt = (longRtt * samples + rtt) / (samples + 1);
    else longRtt = longRtt * (1 - alpha) + rtt * alpha;
    samples++;
    // After a long overload the baseline sits far above normal RTT; decay it faster than the EMA would.
    if (longRtt / rtt > 2) longRtt *= 0.95;
    // An application that does not use its limit tells nothing about a larger one.
    if (inflightAtStart < estimate / 2) return;
    const gradient = Math.max(0.5, Math.min(1, (tolerance * longRtt) / rtt));
    const next = estimate * (1 - smoothing) + (estimate * gradient + queueSize) * smoothing;
    estimate = Math.max(minLimit, Math.min(maxLimit, next));
    const floored = Math.floor(estimate);
    if (floored !== limit) {
      const previous = limit;
      limit = floored;
      if (changed.size > 0) changed.emit({ limit, previous });
    }
  };

  const filter: Filter = async (req, ctx, next) => {
    if (inflight >= limit) {
      if (shed.size > 0)
        shed.emit({ method: ctx.method, policy: 'adaptive-concurrency', reason: `limit ${limit}` });
      throw rejection(
        'RESOURCE_EXHAUSTED',
        'adaptive-concurrency',
        `server over its concurrency limit of ${limit}`,
      );
    }
    const atStart = ++inflight;
    const start = now();
    try {
      return await next(req, ctx);
    } finally {
      inflight--;
      sample(now() - start, atStart);
    }
  };
  const out = Object.defineProperties(filter, {
    limit: { get: () => limit },
    inflight: { get: () => inflight },
  });
  return Object.assign(out, { onShed: shed.event, onLimit: changed.event }) as AdaptiveLimitFilter;
}
