import type { Endpoint } from '../client/endpoint-types.js';

export interface SlowStartOptions {
  /** How long a newly seen endpoint takes to reach its full weight. Default 30 s. */
  windowMs?: number;
  /** The smallest share of its weight a new endpoint gets, so it is never starved. Default 0.1. */
  floor?: number;
  /** Shape of the ramp: 1 is linear, above 1 ramps faster early (Envoy's `aggression`). Default 1. */
  aggression?: number;
  /** Clock of `endpoint.firstSeenMs`; default performance.now(). */
  now?: () => number;
}

/**
 * A weight ramp for endpoints this client has just discovered, shared by the weighted
 * balancers through their `slowStart` option: `weightedRandom({ slowStart: slowStart() })`.
 * It is a value rather than a balancer wrapper because only the inner algorithm knows how
 * weights enter its choice (a weight table, a tie-break, a load divisor).
 */
export interface SlowStart {
  readonly windowMs: number;
  readonly now: () => number;
  /** Multiplier of the endpoint's weight at `now`, in [floor, 1]. */
  factor(endpoint: Endpoint, now: number): number;
}

export function slowStart(options: SlowStartOptions = {}): SlowStart {
  const windowMs = options.windowMs ?? 30_000;
  const floor = options.floor ?? 0.1;
  const aggression = options.aggression ?? 1;
  if (!(windowMs > 0) || !Number.isFinite(windowMs)) throw new RangeError('slowStart: windowMs must be > 0');
  if (!(floor >= 0 && floor <= 1)) throw new RangeError('slowStart: floor must be within [0, 1]');
  if (!(aggression > 0)) throw new RangeError('slowStart: aggression must be > 0');
  const exponent = 1 / aggression;
  return {
    windowMs,
    now: options.now ?? (() => performance.now()),
    factor(endpoint, now) {
      const elapsed = now - endpoint.firstSeenMs;
      if (elapsed >= windowMs) return 1;
      const t = Math.max(elapsed, 0) / windowMs;
      return Math.max(floor, exponent === 1 ? t : t ** exponent);
    },
  };
}

/** The weight a balancer should use now: weight × max(floor, (t / window)^(1/aggression)) (Envoy). */
export function effectiveWeight(endpoint: Endpoint, now: number, ramp?: SlowStart): number {
  const w = baseWeight(endpoint);
  return ramp === undefined || w === 0 ? w : w * ramp.factor(endpoint, now);
}

/** The configured weight, with anything unusable read as 0. */
export function baseWeight(endpoint: Endpoint): number {
  const w = endpoint.instance.weight;
  return w > 0 && Number.isFinite(w) ? w : 0;
}
