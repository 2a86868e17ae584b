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
let lastInput: readonly Endpoint[] | undefined;
let lastResult: Routable | undefined;

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
  const cached = all === lastInput ? lastResult : results.get(all);
  if (cached !== undefined && stillSelected(cached, all)) return cached;
  const result = select(all);
  results.set(all, result);
  if (result.endpoints !== all) sources.set(result.endpoints, all);
  lastInput = all;
  lastResult = result;
  return result;
}

function select(all: readonly Endpoint[]): Routable {
  const healthy = all.filter(isHealthy);
  if (healthy.length > 0 || all.length === 0) {
    // A selection of everything is the input itself: no copy, and balancers see one array.
    return { endpoints: healthy.length === all.length ? all : healthy, panic: false };
  }
  const fallback = all.filter(isPanicCandidate);
  return { endpoints: fallback.length === 0 || fallback.length === all.length ? all : fallback, panic: true };
}

/** Replays select() against a previous answer without allocating. */
function stillSelected(previous: Routable, all: readonly Endpoint[]): boolean {
  const chosen = previous.endpoints;
  let k = 0;
  if (!previous.panic) {
    for (let i = 0; i < all.length; i++) {
      const e = all[i]!;
      if (isHealthy(e) && chosen[k++] !== e) return false;
    }
    return k === chosen.length && (k > 0 || all.length === 0);
  }
  for (let i = 0; i < all.length; i++) {
    const e = all[i]!;
    if (isHealthy(e)) return false;
    if (isPanicCandidate(e) && chosen[k++] !== e) return false;
  }
  return k === 0 ? chosen === all : k === chosen.length;
}

function isPanicCandidate(endpoint: Endpoint): boolean {
  return endpoint.instance.status === 'UP' && endpoint.status !== 'draining';
}

/** The full list a routable() selection was taken from, when it was a strict subset. */
export function sourceOf(endpoints: readonly Endpoint[]): readonly Endpoint[] | undefined {
  return sources.get(endpoints);
}
