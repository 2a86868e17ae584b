import type { Endpoint } from '../client/endpoint-types.js';
import { honourAvoid } from './avoid.js';
import type { Balancer } from './balancer.js';
import type { SlowStart } from './slow-start.js';
import { memoBySet } from './snapshot.js';
import { WeightTable } from './weights.js';

export interface P2cEwmaOptions {
  /** Time constant of the latency decay; the client's load tracking follows it. Default 10 s (Finagle, Linkerd). */
  decayMs?: number;
  /**
   * Cost of an endpoint not yet measured once a call to it is outstanding. The default is far
   * above any real latency, so a new endpoint carries one probe call at a time until its first
   * reply (Finagle). A typical latency instead (say 30) lets it compete as an average one.
   */
  penaltyMs?: number;
  random?: () => number;
  /** Clock of load.ewmaStampMs, the one trackLoad uses; default performance.now(). */
  now?: () => number;
  /** Ramp new endpoints' weights in: load is divided by the effective weight. */
  slowStart?: SlowStart;
}

/**
 * Power of two choices over peak-EWMA load (Finagle, Linkerd): sample two distinct endpoints
 * and take the one with the lower cost × (pending + 1), where cost is the peak EWMA of latency
 * decayed to now. Sampling two instead of scanning all is O(1) and avoids the herd that
 * "least loaded" causes when many clients see the same stale numbers; the peak EWMA reacts at
 * once to a slow instance and forgives it only gradually. Load is divided by the endpoint's
 * weight, so weight 2 means twice the capacity.
 */
export function p2cEwma(options: P2cEwmaOptions = {}): Balancer {
  const decayMs = options.decayMs ?? 10_000;
  const penaltyMs = options.penaltyMs ?? 1_000_000;
  const rand = options.random ?? Math.random;
  const now = options.now ?? (() => performance.now());
  if (!(decayMs > 0)) throw new RangeError('p2cEwma: decayMs must be > 0');
  const table = memoBySet((endpoints) => new WeightTable(endpoints, options.slowStart));

  const score = (e: Endpoint, weight: number, at: number): number => {
    const { inflight, completed, peakEwmaMs, ewmaStampMs } = e.load;
    let load: number;
    if (completed === 0) {
      // Never measured: free while idle so it gets probed, expensive while the probe is out.
      load = inflight === 0 ? 0 : penaltyMs * (inflight + 1);
    } else {
      // The decay is applied on read too, so an endpoint left alone after a bad spell is retried.
      const elapsed = at - ewmaStampMs;
      const cost = elapsed > 0 ? peakEwmaMs * Math.exp(-elapsed / decayMs) : peakEwmaMs;
      load = cost * (inflight + 1);
    }
    return weight > 0 ? load / weight : Number.POSITIVE_INFINITY;
  };

  return {
    name: 'p2c-ewma',
    loadDecayMs: decayMs,
    pick: honourAvoid((endpoints) => {
      const n = endpoints.length;
      if (n === 1) return endpoints[0]!;
      const t = table(endpoints);
      t.refresh();
      const a = Math.floor(rand() * n);
      let b = Math.floor(rand() * (n - 1));
      if (b >= a) b++;
      const at = now();
      const ea = endpoints[a]!;
      const eb = endpoints[b]!;
      return score(eb, t.values[b]!, at) < score(ea, t.values[a]!, at) ? eb : ea;
    }),
  };
}
