import type { Cluster } from '../../client/endpoint-types.js';
import { NEVER_ABORTED, withContext } from '../../core/context.js';
import { type RpcError, toRpcError } from '../../core/errors.js';
import { createEmitter, type Event } from '../../core/events.js';
import { type Backoff, exponentialBackoff } from '../backoff.js';
import { isSafeToRetry } from '../classify.js';
import { type Clock, systemClock, unref } from '../clock.js';
import { pickAndCall } from './pick.js';

export interface FailbackOptions {
  /** What a failed call returns at once. Default undefined. */
  value?: unknown;
  /** Calls waiting for a background retry; beyond it failures are dropped. Default 100. */
  maxQueue?: number;
  /** Background attempts per call. Default 3. */
  maxRetries?: number;
  /** Delay before each background attempt. Default: exponential, 1 s base, 30 s cap, full jitter. */
  backoff?: Backoff;
  /** Deadline of each background attempt. Default 5 s. */
  timeoutMs?: number;
  clock?: Clock;
}

export interface FailbackEvent {
  method: string;
  /** queued: will be retried; recovered: a background attempt succeeded; dropped: given up. */
  outcome: 'queued' | 'recovered' | 'dropped';
  reason?: 'queue-full' | 'unsafe' | 'attempts';
  attempts: number;
  error?: RpcError;
}

export type FailbackCluster = Cluster & {
  readonly onFailback: Event<FailbackEvent>;
  readonly pending: number;
};

/**
 * Dubbo's failback: a failed call returns `value` at once and is retried in the background
 * later, for fire-and-forget notifications. Only calls safe to repeat are queued; the
 * queue is bounded and its timers never keep the process alive.
 */
export function failback(options: FailbackOptions = {}): FailbackCluster {
  const maxQueue = options.maxQueue ?? 100;
  const maxRetries = options.maxRetries ?? 3;
  const backoff = options.backoff ?? exponentialBackoff({ baseMs: 1_000, maxMs: 30_000 });
  const timeoutMs = options.timeoutMs ?? 5_000;
  const clock = options.clock ?? systemClock;
  const events = createEmitter<FailbackEvent>();
  let pending = 0;

  const cluster: Cluster = (directory) => {
    const call = pickAndCall(directory);
    const schedule = (req: unknown, ctx: Parameters<typeof call>[1], tries: number, previous: number) => {
      const delay = backoff(tries + 1, previous);
      unref(
        clock.setTimeout(() => {
          const attempt = withContext(ctx, {
            attempt: ctx.attempt + tries + 1,
            deadline: clock.now() + timeoutMs,
            signal: NEVER_ABORTED,
          });
          call(req, attempt).then(
            () => {
              pending--;
              events.emit({ method: ctx.method, outcome: 'recovered', attempts: tries + 2 });
            },
            (err: unknown) => {
              const e = toRpcError(err);
              if (tries + 1 < maxRetries && isSafeToRetry(e, ctx.idempotent))
                schedule(req, ctx, tries + 1, delay);
              else {
                pending--;
                const reason = tries + 1 < maxRetries ? 'unsafe' : 'attempts';
                events.emit({
                  method: ctx.method,
                  outcome: 'dropped',
                  reason,
                  attempts: tries + 2,
                  error: e,
                });
              }
            },
          );
        }, delay),
      );
    };
    return (req, ctx) =>
      call(req, ctx).catch((err: unknown) => {
        const e = toRpcError(err);
        const drop = (reason: 'queue-full' | 'unsafe') =>
          events.emit({ method: ctx.method, outcome: 'dropped', reason, attempts: 1, error: e });
        if (!isSafeToRetry(e, ctx.idempotent)) drop('unsafe');
        else if (pending >= maxQueue) drop('queue-full');
        else {
          pending++;
          events.emit({ method: ctx.method, outcome: 'queued', attempts: 1, error: e });
          schedule(req, ctx, 0, 0);
        }
        return options.value;
      });
  };
  const out = Object.defineProperty(cluster, 'pending', { get: () => pending });
  return Object.assign(out, { onFailback: events.event }) as FailbackCluster;
}
