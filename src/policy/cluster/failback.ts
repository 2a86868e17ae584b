import type { Cluster } from '../../client/endpoint-types.js';
import { NEVER_ABORTED, withContext } from '../../core/context.js';
import { type RpcError, toRpcError } from '../../core/errors.js';
import { createEmitter, type Event } from '../../core/events.js';
import { type Backoff, exponentialBackoff } from '../backoff.js';
import { isSafeToRetry, shouldRetry } from '../classify.js';
import { type Clock, systemClock, type TimerHandle, unref } from '../clock.js';
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

/**
 * Why a failed call was not (or no longer) retried. unsafe: it may have run and the method
 * is not idempotent. not-retryable: an answer another attempt would not change
 * (INVALID_ARGUMENT, NOT_FOUND…). cancelled: the caller gave up on it. attempts: the
 * background attempts ran out. disposed: the cluster was disposed.
 */
export type FailbackDropReason =
  | 'queue-full'
  | 'unsafe'
  | 'not-retryable'
  | 'cancelled'
  | 'attempts'
  | 'disposed';

export interface FailbackEvent {
  method: string;
  /** queued: will be retried; recovered: a background attempt succeeded; dropped: given up. */
  outcome: 'queued' | 'recovered' | 'dropped';
  reason?: FailbackDropReason;
  attempts: number;
  error?: RpcError;
}

export type FailbackCluster = Cluster & {
  readonly onFailback: Event<FailbackEvent>;
  readonly pending: number;
  /** Cancels the queued retries (reported as dropped, `disposed`); later failures are not queued. */
  dispose(): void;
};

/** Why a failure is not worth a background retry, or undefined when it is. */
function dropReason(err: RpcError, idempotent: boolean): FailbackDropReason | undefined {
  if (shouldRetry(err, idempotent)) return undefined;
  return isSafeToRetry(err, idempotent) ? 'not-retryable' : 'unsafe';
}

/**
 * Dubbo's failback: a failed call returns `value` at once and is retried in the background
 * later, for fire-and-forget notifications. Only failures the retry filter would retry are
 * queued (a retryable code, and safe to repeat), never a call its caller cancelled; the
 * queue is bounded and its timers never keep the process alive.
 */
export function failback(options: FailbackOptions = {}): FailbackCluster {
  const maxQueue = options.maxQueue ?? 100;
  const maxRetries = options.maxRetries ?? 3;
  const backoff = options.backoff ?? exponentialBackoff({ baseMs: 1_000, maxMs: 30_000 });
  const timeoutMs = options.timeoutMs ?? 5_000;
  const clock = options.clock ?? systemClock;
  const events = createEmitter<FailbackEvent>();
  // Queued retries waiting for their timer, so dispose can cancel them.
  const timers = new Map<TimerHandle, FailbackEvent>();
  let pending = 0;
  let disposed = false;

  const drop = (method: string, reason: FailbackDropReason, attempts: number, error?: RpcError) =>
    events.emit({ method, outcome: 'dropped', reason, attempts, error });

  const cluster: Cluster = (directory) => {
    const call = pickAndCall(directory);
    const schedule = (
      req: unknown,
      ctx: Parameters<typeof call>[1],
      tries: number,
      previous: number,
      error: RpcError,
    ) => {
      const delay = backoff(tries + 1, previous);
      const handle = clock.setTimeout(() => {
        timers.delete(handle);
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
            const reason = disposed
              ? 'disposed'
              : tries + 1 < maxRetries
                ? dropReason(e, ctx.idempotent)
                : 'attempts';
            if (reason === undefined) schedule(req, ctx, tries + 1, delay, e);
            else {
              pending--;
              drop(ctx.method, reason, tries + 2, e);
            }
          },
        );
      }, delay);
      unref(handle);
      timers.set(handle, { method: ctx.method, outcome: 'dropped', attempts: tries + 1, error });
    };
    return (req, ctx) =>
      call(req, ctx).catch((err: unknown) => {
        const e = toRpcError(err);
        // A call its caller cancelled is not wanted any more, even when it never ran.
        const reason = disposed
          ? 'disposed'
          : ctx.signal.aborted
            ? 'cancelled'
            : dropReason(e, ctx.idempotent);
        if (reason !== undefined) drop(ctx.method, reason, 1, e);
        else if (pending >= maxQueue) drop(ctx.method, 'queue-full', 1, e);
        else {
          pending++;
          events.emit({ method: ctx.method, outcome: 'queued', attempts: 1, error: e });
          schedule(req, ctx, 0, 0, e);
        }
        return options.value;
      });
  };
  const dispose = () => {
    disposed = true;
    for (const [handle, queued] of timers) {
      clock.clearTimeout(handle);
      pending--;
      drop(queued.method, 'disposed', queued.attempts, queued.error);
    }
    timers.clear();
  };
  const out = Object.defineProperty(cluster, 'pending', { get: () => pending });
  return Object.assign(out, { onFailback: events.event, dispose }) as FailbackCluster;
}
