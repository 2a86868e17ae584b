import type { Endpoint } from '../client/endpoint-types.js';
import type { CallContext } from '../core/context.js';

/** True when retry or hedging asked to avoid this endpoint's instance. */
export function isAvoided(endpoint: Endpoint, ctx: CallContext): boolean {
  const avoid = ctx.avoid;
  return avoid !== undefined && avoid.size > 0 && avoid.has(endpoint.instance.id);
}

type PickOnce = (endpoints: readonly Endpoint[], ctx: CallContext) => Endpoint;

/**
 * Adds `ctx.avoid` handling to a pick over a non-empty list. The algorithm gets two more
 * tries, which keeps its own preference (a new random pair, the next in rotation); then a
 * linear scan bounds the cost when most endpoints are avoided. When every endpoint is avoided
 * the first choice stands: a repeat attempt beats no attempt.
 */
export function honourAvoid(
  pickOnce: PickOnce,
): (endpoints: readonly Endpoint[], ctx: CallContext) => Endpoint | undefined {
  return (endpoints, ctx) => {
    const n = endpoints.length;
    if (n === 0) return undefined;
    const first = pickOnce(endpoints, ctx);
    if (n === 1 || !isAvoided(first, ctx)) return first;
    for (let i = 0; i < 2; i++) {
      const again = pickOnce(endpoints, ctx);
      if (!isAvoided(again, ctx)) return again;
    }
    const start = endpoints.indexOf(first);
    for (let i = 1; i < n; i++) {
      const e = endpoints[(start + i) % n]!;
      if (!isAvoided(e, ctx)) return e;
    }
    return first;
  };
}
