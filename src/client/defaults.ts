import type { Balancer } from '../balance/balancer.js';
import { p2cEwma } from '../balance/p2c-ewma.js';
import { RpcError } from '../core/errors.js';
import type { Cluster } from './endpoint-types.js';

/** P2C with peak EWMA (Finagle, Linkerd): cheap, and it moves load away from slow instances. */
export function defaultBalancer(): Balancer {
  return p2cEwma();
}

/** One pick, one call: errors name the instance so retries can avoid it. */
export const defaultCluster: Cluster = (directory) => async (req, ctx) => {
  const endpoint = directory.balancer.pick(directory.routable(), ctx);
  if (!endpoint) {
    throw new RpcError('UNAVAILABLE', `no instance of ${directory.service} is available`, {
      mayHaveProcessed: false,
    });
  }
  try {
    return await endpoint.call(req, ctx);
  } catch (err) {
    if (err instanceof RpcError && err.instance === undefined) err.instance = endpoint.instance.id;
    throw err;
  }
};
