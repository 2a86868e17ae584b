import type { Cluster } from '../../client/endpoint-types.js';
import { type RpcError, toRpcError } from '../../core/errors.js';
import { createEmitter, type Event } from '../../core/events.js';
import { pickAndCall } from './pick.js';

export interface SwallowedEvent {
  method: string;
  error: RpcError;
}

export interface FailsafeOptions {
  /** What a failed call returns. Default undefined. */
  value?: unknown;
}

export type FailsafeCluster = Cluster & { readonly onSwallow: Event<SwallowedEvent> };

/**
 * Dubbo's failsafe: one attempt; a failure is reported as an event and the caller gets
 * `value` instead. For calls whose result nobody needs (audit logs, metrics pushes).
 */
export function failsafe(options: FailsafeOptions = {}): FailsafeCluster {
  const swallowed = createEmitter<SwallowedEvent>();
  const cluster: Cluster = (directory) => {
    const call = pickAndCall(directory);
    return (req, ctx) =>
      call(req, ctx).catch((err: unknown) => {
        swallowed.emit({ method: ctx.method, error: toRpcError(err) });
        return options.value;
      });
  };
  return Object.assign(cluster, { onSwallow: swallowed.event });
}
