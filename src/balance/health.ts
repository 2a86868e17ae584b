import type { Endpoint } from '../client/endpoint-types.js';

export interface Routable {
  /** What the balancer should pick from; non-empty whenever the input is. */
  readonly endpoints: readonly Endpoint[];
  /** True when no endpoint is healthy and the list is a last-resort fallback. */
  readonly panic: boolean;
}

/** Routable in normal operation: the connection is open and the registry says UP. */
export function isHealthy(endpoint: Endpoint): boolean {
  return endpoint.status === 'open' && endpoint.instance.status === 'UP';
}

const results = new WeakMap<readonly Endpoint[], Routable>();
const sources = new WeakMap<readonly Endpoint[], readonly Endpoint[]>();
const scratch: Endpoint[] = [];

/**
 * The endpoints a balancer may pick: healthy ones (status 'open', instance 'UP'). With none,
 * panic mode: attempting calls beats failing all of them, so it returns the UP endpoints that
 * are not draining (a draining server refuses new calls for certain) and, failing that, all.
 *
 * The result is cached per input array and the same object is returned for as long as the
 * selection is unchanged, so balancers keyed on array identity keep their rings and tables.
 * Endpoint statuses change in place, so each call re-checks them: one pass, no allocation.
 */
export function routable(all: readonly Endpoint[]): Routable {
  let panic = false;
  for (const e of all) if (isHealthy(e)) scratch.push(e);
  if (scratch.length === 0 && all.length > 0) {
    panic = true;
    for (const e of all) if (e.instance.status === 'UP' && e.status !== 'draining') scratch.push(e);
    if (scratch.length === 0) scratch.push(...all);
  }
  let result = results.get(all);
  if (result === undefined || result.panic !== panic || !sameList(result.endpoints, scratch)) {
    // A selection of everything is the input itself: no copy, and balancers see one array.
    const endpoints = scratch.length === all.length ? all : scratch.slice();
    result = { endpoints, panic };
    results.set(all, result);
    if (endpoints !== all) sources.set(endpoints, all);
  }
  scratch.length = 0;
  return result;
}

/** The full list a routable() selection was taken from, when it was a strict subset. */
export function sourceOf(endpoints: readonly Endpoint[]): readonly Endpoint[] | undefined {
  return sources.get(endpoints);
}

function sameList(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
