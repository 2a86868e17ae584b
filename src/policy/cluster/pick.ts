import type { Cluster, Directory, Endpoint } from '../../client/endpoint-types.js';
import type { CallContext } from '../../core/context.js';
import { toRpcError } from '../../core/errors.js';
import { invoke } from '../../core/service.js';
import { noInstance } from '../classify.js';
import { reportPick } from '../pick-sink.js';

/** One balancer pick; UNAVAILABLE (never processed) when there is nothing to pick. */
export function pickOne(directory: Directory, ctx: CallContext): Endpoint {
  const endpoint = directory.balancer.pick(directory.routable(), ctx);
  if (endpoint === undefined) throw noInstance(directory.service);
  reportPick(ctx, endpoint.instance.id);
  return endpoint;
}

/** Calls one endpoint; its errors name the instance, so retries and failover can avoid it. */
export function callEndpoint(endpoint: Endpoint, req: unknown, ctx: CallContext): Promise<unknown> {
  // A plain promise chain rather than async/await: one promise fewer per call on the hot path.
  return invoke(endpoint.call, req, ctx).then(undefined, (err: unknown) => {
    const e = toRpcError(err);
    e.instance ??= endpoint.instance.id;
    throw e;
  });
}

/**
 * The basic cluster: pick one endpoint with the balancer and call it, once. Retry above it
 * re-picks per attempt, which with `ctx.avoid` gives failover with backoff and a budget.
 */
export const pickAndCall: Cluster = (directory) => (req, ctx) => {
  let endpoint: Endpoint;
  try {
    endpoint = pickOne(directory, ctx);
  } catch (err) {
    return Promise.reject(err);
  }
  return callEndpoint(endpoint, req, ctx);
};

/** Dubbo's failfast: exactly one attempt. The same as `pickAndCall`, named for the mode. */
export const failfast: Cluster = pickAndCall;
