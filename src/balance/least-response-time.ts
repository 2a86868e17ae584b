import type { Endpoint } from '../client/endpoint-types.js';
import type { CallContext } from '../core/context.js';
import { isAvoided } from './avoid.js';
import type { Balancer } from './balancer.js';

export interface LeastResponseTimeOptions {
  /** Chooses the starting rotation and the samples; default Math.random. */
  random?: () => number;
  /**
   * Compare only this many randomly sampled endpoints instead of scanning all of them:
   * O(choices) per pick, for very large sets (Envoy's choice_count). Default: exact scan.
   */
  choices?: number;
}

/**
 * Lowest avgLatencyMs × (inflight + 1): the expected wait behind this client's own queue.
 * An endpoint not yet measured is scored with the mean latency of the measured ones, so it
 * gets its share at once without being flooded before its first reply. O(n), like
 * leastConnections (or O(choices) when sampling); ties rotate.
 */
export function leastResponseTime(options: LeastResponseTimeOptions = {}): Balancer {
  const rand = options.random ?? Math.random;
  const choices = options.choices ?? Number.POSITIVE_INFINITY;
  if (!(choices >= 1)) throw new RangeError('leastResponseTime: choices must be >= 1');
  let rotation = Math.floor(rand() * 2 ** 31);
  const scan = (
    endpoints: readonly Endpoint[],
    ctx: CallContext,
    avoid: boolean,
    sample: boolean,
  ): Endpoint | undefined => {
    const n = endpoints.length;
    const start = rotation % n;
    const sampled = sample && choices < n;
    const m = sampled ? choices : n;
    let measured: Endpoint | undefined;
    let measuredScore = Number.POSITIVE_INFINITY;
    let fresh: Endpoint | undefined;
    let freshInflight = Number.POSITIVE_INFINITY;
    let latencySum = 0;
    let latencyCount = 0;
    for (let k = 0; k < m; k++) {
      const i = sampled ? Math.floor(rand() * n) : start + k < n ? start + k : start + k - n;
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
      // Sampled endpoints may all be avoided; then the full scan finds the others, if any.
      return (
        scan(endpoints, ctx, true, true) ??
        scan(endpoints, ctx, true, false) ??
        scan(endpoints, ctx, false, true)
      );
    },
  };
}
