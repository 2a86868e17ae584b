import type { Endpoint } from '../client/endpoint-types.js';
import { isAvoided } from './avoid.js';
import type { Balancer } from './balancer.js';
import { isHealthy, sourceOf } from './health.js';
import { memoBySet } from './snapshot.js';

export interface ZoneAwareOptions {
  /** The caller's zone. */
  zone: string;
  /** Picks within whichever set is chosen. */
  inner: Balancer;
  /**
   * Stay in the zone while at least this share of its endpoints is healthy; below it the
   * remaining local endpoints would be overloaded, so calls spill over to every zone. Default 0.5.
   */
  minHealthyShare?: number;
}

/**
 * Prefers endpoints in the caller's zone (cheaper and faster than crossing zones) while
 * enough of the zone is healthy; otherwise picks from all zones. Given the output of
 * routable(), it counts the zone's size in the full list that selection came from, so an
 * outage is measured against the zone as discovered, not against what is left of it.
 */
export function zoneAware(options: ZoneAwareOptions): Balancer {
  const { zone, inner } = options;
  const minShare = options.minHealthyShare ?? 0.5;
  if (!(minShare >= 0 && minShare <= 1))
    throw new RangeError('zoneAware: minHealthyShare must be within [0, 1]');
  const choose = memoBySet((endpoints): readonly Endpoint[] => {
    const local = endpoints.filter((e) => e.instance.zone === zone && isHealthy(e));
    let known = 0;
    for (const e of sourceOf(endpoints) ?? endpoints) if (e.instance.zone === zone) known++;
    return local.length > 0 && local.length >= minShare * known ? local : endpoints;
  });
  return {
    name: `zone-aware(${inner.name})`,
    pick(endpoints, ctx) {
      if (endpoints.length === 0) return undefined;
      const chosen = choose(endpoints);
      // A retry or hedge that must avoid every local endpoint goes to another zone: the
      // inner balancer would fall back to an avoided one, which is worse than crossing.
      if (chosen !== endpoints && ctx.avoid !== undefined && ctx.avoid.size > 0) {
        let allAvoided = true;
        for (const e of chosen) if (!isAvoided(e, ctx)) allAvoided = false;
        if (allAvoided) return inner.pick(endpoints, ctx);
      }
      return inner.pick(chosen, ctx);
    },
  };
}
