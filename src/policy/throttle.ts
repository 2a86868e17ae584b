import { RpcError } from '../core/errors.js';
import { createEmitter, type Event } from '../core/events.js';
import type { Filter } from '../core/service.js';
import { isLocalRejection, isNoInstance, rejection, type ShedEvent } from './classify.js';
import { type Clock, systemClock } from './clock.js';
import { WindowedCounter } from './window.js';

export interface AdaptiveThrottleOptions {
  /** Accept multiplier: the client sends up to K × what the backend accepts. Default 2 (SRE book). */
  k?: number;
  /** History window. Default 2 min (SRE book). */
  windowMs?: number;
  /**
   * Whether an error means the backend refused the call. Default: RESOURCE_EXHAUSTED or
   * UNAVAILABLE. Refusals raised locally below the throttle (bulkhead, rate limit, breaker,
   * no instance to pick) are never asked about: the backend did not see those calls.
   */
  isRejected?: (err: unknown) => boolean;
  random?: () => number;
  clock?: Pick<Clock, 'now'>;
}

export type AdaptiveThrottleFilter = Filter & {
  readonly onShed: Event<ShedEvent>;
  /** The current local rejection probability. */
  readonly probability: number;
};

const defaultRejected = (err: unknown) =>
  err instanceof RpcError && (err.code === 'RESOURCE_EXHAUSTED' || err.code === 'UNAVAILABLE');

/**
 * Client-side adaptive throttling (Google SRE book, "Handling Overload"): when the backend
 * accepts fewer calls than are sent, refuse locally with probability
 * max(0, (requests − K × accepts) / (requests + 1)), so an overloaded backend stops paying
 * to reject what it cannot serve. Its own refusals count as requests, as in the book; a
 * call refused locally below it (bulkhead, rate limit, breaker, no instance) counts as
 * neither a request nor an accept, since no backend saw it.
 */
export function adaptiveThrottle(options: AdaptiveThrottleOptions = {}): AdaptiveThrottleFilter {
  const k = options.k ?? 2;
  const windowMs = options.windowMs ?? 120_000;
  const random = options.random ?? Math.random;
  const isRejected = options.isRejected ?? defaultRejected;
  if (!(k >= 1)) throw new RangeError('adaptiveThrottle: k must be >= 1');
  const now = (options.clock ?? systemClock).now;
  const requests = new WindowedCounter(windowMs, 24, now);
  const accepts = new WindowedCounter(windowMs, 24, now);
  const shed = createEmitter<ShedEvent>();
  const probability = () => {
    const r = requests.sum();
    return Math.max(0, (r - k * accepts.sum()) / (r + 1));
  };

  const filter: Filter = async (req, ctx, next) => {
    // From the history before this call: the formula's + 1 stands for it. Counting it first
    // would refuse the first call after a quiet window half the time (r = 1, a = 0).
    const p = probability();
    const at = now();
    requests.add(1);
    if (p > 0 && random() < p) {
      if (shed.size > 0)
        shed.emit({ method: ctx.method, policy: 'adaptive-throttle', reason: `p=${p.toFixed(2)}` });
      throw rejection(
        'RESOURCE_EXHAUSTED',
        'adaptive-throttle',
        'throttled locally: the backend is rejecting calls',
      );
    }
    try {
      const res = await next(req, ctx);
      accepts.add(1);
      return res;
    } catch (err) {
      if (isLocalRejection(err) || isNoInstance(err)) requests.addAt(-1, at);
      else if (!isRejected(err)) accepts.add(1);
      throw err;
    }
  };
  const out = Object.defineProperty(filter, 'probability', { get: probability });
  return Object.assign(out, { onShed: shed.event }) as AdaptiveThrottleFilter;
}
