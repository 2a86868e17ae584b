import type { Cluster } from '../../client/endpoint-types.js';
import { noInstance } from '../classify.js';
import { callEndpoint } from './pick.js';

export interface BroadcastOptions {
  /** Combines the replies, in endpoint order. Default: the last one (as Dubbo returns). */
  reduce?: (results: unknown[]) => unknown;
}

/**
 * Dubbo's broadcast: call every routable endpoint (cache invalidation, config pushes) and
 * fail if any of them fails, after all have answered, so no call is left running.
 */
export function broadcast(options: BroadcastOptions = {}): Cluster {
  const reduce = options.reduce ?? ((results: unknown[]) => results.at(-1));
  return (directory) => async (req, ctx) => {
    const endpoints = directory.routable();
    if (endpoints.length === 0) throw noInstance(directory.service);
    const settled = await Promise.allSettled(endpoints.map((e) => callEndpoint(e, req, ctx)));
    const failure = settled.find((s) => s.status === 'rejected');
    if (failure) throw failure.reason;
    return reduce(settled.map((s) => (s as PromiseFulfilledResult<unknown>).value));
  };
}
