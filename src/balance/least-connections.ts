import type { Endpoint } from '../client/endpoint-types.js';
import type { CallContext } from '../core/context.js';
import { isAvoided } from './avoid.js';
import type { Balancer } from './balancer.js';
import type { SlowStart } from './slow-start.js';
import { memoBySet } from './snapshot.js';
import { WeightTable } from './weights.js';

export interface LeastConnectionsOptions {
  /** Chooses the starting rotation and the samples; default Math.random. */
  random?: () => number;
  /**
   * Compare only this many randomly sampled endpoints instead of scanning all of them:
   * O(choices) per pick, for very large sets (Envoy's choice_count). Default: exact scan.
   */
  choices?: number;
  /** Ramp new endpoints' weights in; weights only break ties here. */
  slowStart?: SlowStart;
}

/**
 * Fewest calls in flight from this client; ties go to the higher (slow-start adjusted) weight,
 * then rotate. The exact minimum needs a scan, O(n) with a tiny constant (inflight is updated
 * by the load-tracking filter, so no index can be kept without hooking every call); at
 * thousands of endpoints set `choices` to sample, or use p2cEwma.
 */
export function leastConnections(options: LeastConnectionsOptions = {}): Balancer {
  const table = memoBySet((endpoints) => new WeightTable(endpoints, options.slowStart));
  const rand = options.random ?? Math.random;
  const choices = options.choices ?? Number.POSITIVE_INFINITY;
  if (!(choices >= 1)) throw new RangeError('leastConnections: choices must be >= 1');
  let rotation = Math.floor(rand() * 2 ** 31);
  const scan = (
    endpoints: readonly Endpoint[],
    ctx: CallContext,
    avoid: boolean,
    sample: boolean,
  ): Endpoint | undefined => {
    const t = table(endpoints);
    t.refresh();
    const weights = t.values;
    const n = endpoints.length;
    const start = rotation % n;
    const sampled = sample && choices < n;
    const m = sampled ? choices : n;
    let best: Endpoint | undefined;
    let bestInflight = Number.POSITIVE_INFINITY;
    let bestWeight = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < m; k++) {
      const i = sampled ? Math.floor(rand() * n) : start + k < n ? start + k : start + k - n;
      const e = endpoints[i]!;
      const inflight = e.load.inflight;
      if (inflight > bestInflight) continue;
      const w = weights[i]!;
      if (inflight === bestInflight && w <= bestWeight) continue;
      if (avoid && isAvoided(e, ctx)) continue;
      best = e;
      bestInflight = inflight;
      bestWeight = w;
    }
    return best;
  };
  return {
    name: 'least-connections',
    pick(endpoints, ctx) {
      if (endpoints.length === 0) return undefined;
      rotation = (rotation % endpoints.length) + 1;
      // Sampled endpoints may all be avoided; then the full scan finds the others, if any.
      return (
        scan(endpoints, ctx, true, true) ??
        scan(endpoints, ctx, true, false) ??
        scan(endpoints, ctx, false, true)
      );
    },
  };
}
