import type { Endpoint } from '../client/endpoint-types.js';

/**
 * Several policies may eject the same endpoint (its breaker and the outlier detector). The
 * endpoint stays ejected until every one of them has released it, so one policy's recovery
 * never re-admits an instance another still holds out.
 */
const holders = new WeakMap<Endpoint, Set<string>>();

export function eject(endpoint: Endpoint, by: string): void {
  let set = holders.get(endpoint);
  if (!set) holders.set(endpoint, (set = new Set()));
  set.add(by);
  endpoint.status = 'ejected';
}

export function release(endpoint: Endpoint, by: string): void {
  const set = holders.get(endpoint);
  if (!set?.delete(by) || set.size > 0) return;
  // Only undo our own status: draining or unavailable set meanwhile by the connection stand.
  if (endpoint.status === 'ejected') endpoint.status = 'open';
}

export function isEjectedBy(endpoint: Endpoint, by: string): boolean {
  return holders.get(endpoint)?.has(by) ?? false;
}
