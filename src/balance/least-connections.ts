import type { Endpoint } from '../client/endpoint-types.js';
import type { CallContext } from '../core/context.js';
import { isAvoided } from './avoid.js';
import type { Balancer } from './balancer.js';
import type { SlowStart } from './slow-start.js';
import { memoBySet } from './snapshot.js';
import { WeightTable } from './weights.js';

export interface LeastConnectionsOptions {
  /** Chooses the starting rotation; default Math.random. */
  random?: () => number;
  /** Ramp new endpoints' weights in; weights only break ties here. */
  slowStart?: SlowStart;
}

/**
 * Fewest calls in flight from this client; ties go to the higher (slow-start adjusted) weight,
 * then rotate. The exact minimum needs a scan, O(n) with a tiny constant (inflight is updated
 * by the load-tracking filter, so no index can be kept without hooking every call); at
 * thousands of endpoints prefer p2cEwma, which samples two.
 */
export function leastConnections(options: LeastConnectionsOptions = {}): Balancer {
  const table = memoBySet((endpoints) => new WeightTable(endpoints, options.slowStart));
  let rotation = Math.floor((options.random ?? Math.random)() * 2 ** 31);
  const scan = (endpoints: readonly Endpoint[], ctx: CallContext, avoid: boolean): Endpoint | undefined => {
    const t = table(endpoints);
    t.refresh();
    const weights = t.values;
    const n = endpoints.length;
    const start = rotation % n;
    let best: Endpoint | undefined;
    let bestInflight = Number.POSITIVE_INFINITY;
    let bestWeight = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      const i = start + k < n ? start + k : start + k - n;
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
      return scan(endpoints, ctx, true) ?? scan(endpoints, ctx, false);
    },
  };
}
