import type { Endpoint } from '../client/endpoint-types.js';
import type { CallContext } from '../core/context.js';

/**
 * Picks one endpoint for a call. Synchronous, cheap and free of I/O: it runs on every attempt.
 * `endpoints` is the current routable snapshot (already filtered for health, never empty
 * when called by the client); the balancer may keep state keyed by endpoint.
 */
export interface Balancer {
  readonly name: string;
  /**
   * The latency decay this balancer's scores assume. The client's load tracking uses it, so a
   * balancer built with another decay gets averages that decay at its pace (default 10 s).
   */
  readonly loadDecayMs?: number;
  pick(endpoints: readonly Endpoint[], ctx: CallContext): Endpoint | undefined;
}
