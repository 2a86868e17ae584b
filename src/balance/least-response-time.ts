import type { Endpoint } from '../client/endpoint-types.js';
import type { CallContext } from '../core/context.js';
import { isAvoided } from './avoid.js';
import type { Balancer } from './balancer.js';

export interface LeastResponseTimeOptions {
  /** Chooses the starting rotation; default Math.random. */
  random?: () => number;
}

/**
 * Lowest avgLatencyMs × (inflight + 1): the expected wait behind this client's own queue.
 * An endpoint not yet measured is scored with the mean latency of the measured ones, so it
 * gets its share at once without being flooded before its first reply. O(n), like
 * leastConnections; ties rotate.
 */
export function leastResponseTime(options: LeastResponseTimeOptions = {}): Balancer {
  let rotation = Math.floor((options.random ?? Math.random)() * 2 ** 31);
  const scan = (endpoints: readonly Endpoint[], ctx: CallContext, avoid: boolean): Endpoint | undefined => {
    const n = endpoints.length;
    const start = rotation % n;
    let measured: Endpoint | undefined;
    let measuredScore = Number.POSITIVE_INFINITY;
    let fresh: Endpoint | undefined;
    let freshInflight = Number.POSITIVE_INFINITY;
    let latencySum = 0;
    let latencyCount = 0;
    for (let k = 0; k < n; k++) {
      const i = start + k < n ? start + k : start + k - n;
      const e = endpoints[i]!;
      const { avgLatencyMs, inflight } = e.load;
      if (avgLatencyMs > 0) {
        latencySum += avgLatencyMs;
        latencyCount++;
        const score = avgLatencyMs * (inflight + 1);
        if (score < measuredScore && !(avoid && isAvoided(e, ctx))) {
          measured = e;
          measuredScore = score;
        }
      } else if (inflight < freshInflight && !(avoid && isAvoided(e, ctx))) {
        fresh = e;
        freshInflight = inflight;
      }
    }
    if (fresh === undefined) return measured;
    if (measured === undefined) return fresh;
    const freshScore = (latencySum / latencyCount) * (freshInflight + 1);
    return freshScore <= measuredScore ? fresh : measured;
  };
  return {
    name: 'least-response-time',
    pick(endpoints, ctx) {
      if (endpoints.length === 0) return undefined;
      rotation = (rotation % endpoints.length) + 1;
      return scan(endpoints, ctx, true) ?? scan(endpoints, ctx, false);
    },
  };
}
