import type { Cluster, Endpoint } from '../../client/endpoint-types.js';
import { type CallContext, withContext } from '../../core/context.js';
import { type RpcError, toRpcError } from '../../core/errors.js';
import type { RetryBudget } from '../budget.js';
import { shouldRetry } from '../classify.js';
import { type Clock, systemClock } from '../clock.js';
import { callEndpoint, pickOne } from './pick.js';

export interface FailoverOptions {
  /** Other endpoints tried after the first fails. Default 2 (Dubbo's retries). */
  retries?: number;
  /** Which failures move on to another endpoint. Default: retryable and safe to repeat (see retry). */
  retryOn?: (err: RpcError, ctx: CallContext) => boolean;
  /** Bounds failovers across calls, as for retry. Default: none. */
  budget?: RetryBudget;
  clock?: Pick<Clock, 'now'>;
}

/**
 * Dubbo's failover: call one endpoint; when the failure is safe to repeat, call another
 * at once, avoiding every instance tried so far. No backoff: it moves across instances,
 * not through time (the retry filter is the one that waits). Stops when the call is
 * cancelled or the deadline passes.
 */
export function failover(options: FailoverOptions = {}): Cluster {
  const retries = options.retries ?? 2;
  const retryOn = options.retryOn ?? ((err: RpcError, ctx: CallContext) => shouldRetry(err, ctx.idempotent));
  const budget = options.budget;
  const now = (options.clock ?? systemClock).now;
  if (!(Number.isInteger(retries) && retries >= 0))
    throw new RangeError('failover: retries must be an integer >= 0');
  return (directory) => async (req, ctx) => {
    budget?.deposit();
    let attemptCtx = ctx;
    let avoid: Set<string> | undefined;
    for (let n = 0; ; n++) {
      let endpoint: Endpoint | undefined;
      try {
        endpoint = pickOne(directory, attemptCtx);
        return await callEndpoint(endpoint, req, attemptCtx);
      } catch (thrown) {
        const err = toRpcError(thrown);
        const more =
          n < retries &&
          retryOn(err, ctx) &&
          !ctx.signal.aborted &&
          now() < ctx.deadline &&
          (budget === undefined || budget.tryWithdraw());
        if (!more) throw err;
        avoid ??= new Set(ctx.avoid);
        if (err.instance !== undefined) avoid.add(err.instance);
        attemptCtx = withContext(ctx, { attempt: ctx.attempt + n + 1, avoid });
      }
    }
  };
}
