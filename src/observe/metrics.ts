import type { Registry } from 'prom-client';
import { RpcError, Status } from '../core/errors.js';
import type { Filter } from '../core/service.js';
import { callStats } from './call-stats.js';

export { DEFAULT_DURATION_BUCKETS } from './call-stats.js';

export interface CallMetricsOptions {
  /** Where the metrics live. Pass prom-client's global `register` explicitly to use it. */
  registry: Registry;
  /**
   * Histogram bucket upper bounds in seconds (default: OpenTelemetry's RPC advice plus
   * sub-millisecond buckets). Every filter on one registry and side must use the same.
   */
  buckets?: readonly number[];
  /** Monotonic clock in ms, for tests; default performance.now. */
  now?: () => number;
}

/**
 * Client-side call metrics: `rpc_client_call_duration_seconds` and `rpc_client_calls_in_flight`
 * by rpc_service, rpc_method (and rpc_response_status_code for durations). Put it first in
 * `ClientOptions.filters` so a call is measured once, with its retries, as the caller saw it.
 */
export function clientMetrics(options: CallMetricsOptions): Filter {
  const stats = callStats(options.registry, 'client', options.buckets);
  const now = options.now ?? performance.now.bind(performance);
  return async (req, ctx, next) => {
    const m = stats.of(ctx.service, ctx.method);
    m.inflight++;
    const start = now();
    let code: number = Status.OK;
    try {
      return await next(req, ctx);
    } catch (err) {
      // Whatever reaches the caller is a status; anything else was a bug below us.
      code = err instanceof RpcError ? Status[err.code] : Status.UNKNOWN;
      throw err;
    } finally {
      m.inflight--;
      m.record(code, (now() - start) / 1000);
    }
  };
}

/**
 * Server-side call metrics: `rpc_server_call_duration_seconds` and `rpc_server_calls_in_flight`.
 * Server filters run only for methods the router knows, so label values stay bounded
 * whatever method names callers send; calls refused before the filters (unknown method,
 * per-connection limit, draining) are not counted here.
 */
export function serverMetrics(options: CallMetricsOptions): Filter {
  const stats = callStats(options.registry, 'server', options.buckets);
  const now = options.now ?? performance.now.bind(performance);
  return async (req, ctx, next) => {
    const m = stats.of(ctx.service, ctx.method);
    m.inflight++;
    const start = now();
    let code: number = Status.OK;
    try {
      return await next(req, ctx);
    } catch (err) {
      // The connection answers a non-RpcError with INTERNAL; count what the caller receives.
      code = err instanceof RpcError ? Status[err.code] : Status.INTERNAL;
      throw err;
    } finally {
      m.inflight--;
      m.record(code, (now() - start) / 1000);
    }
  };
}
