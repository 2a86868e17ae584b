import type { Endpoint } from '../client/endpoint-types.js';
import type { Instance } from '../registry/instance.js';

/**
 * Derives state (a ring, a weight table) from an endpoint list and keeps it until the list
 * changes. The common case is one identity check, so callers must pass a new array whenever
 * membership changes (the client's snapshots and routable() do). A new array with the same
 * endpoints and instances (a re-emitted snapshot) costs one linear comparison and no rebuild.
 * Instances are compared too because a client may swap an endpoint's instance (new weight or
 * zone) in place.
 */
export function memoBySet<S>(
  build: (endpoints: readonly Endpoint[]) => S,
): (endpoints: readonly Endpoint[]) => S {
  let key: readonly Endpoint[] | undefined;
  let instances: Instance[] = [];
  let state: S;
  return (endpoints) => {
    if (endpoints === key) return state;
    if (key === undefined || !sameMembers(endpoints, key, instances)) {
      state = build(endpoints);
      instances = endpoints.map((e) => e.instance);
    }
    key = endpoints;
    return state;
  };
}

function sameMembers(
  a: readonly Endpoint[],
  b: readonly Endpoint[],
  instances: readonly Instance[],
): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return sameInstances(a, instances);
}

function sameInstances(endpoints: readonly Endpoint[], instances: readonly Instance[]): boolean {
  for (let i = 0; i < endpoints.length; i++) if (endpoints[i]!.instance !== instances[i]) return false;
  return true;
}
