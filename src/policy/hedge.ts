import { type CallContext, listenAbort, unlistenAbort, withContext } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import { createEmitter, type Event } from '../core/events.js';
import { type Filter, invoke } from '../core/service.js';
import { type RetryBudget, retryBudget } from './budget.js';
import { abandonedAsSlow } from './classify.js';
import { abortError, type Clock, systemClock, type TimerHandle } from './clock.js';
import { LatencyTracker } from './latency.js';
import { withPickSink } from './pick-sink.js';
import { type ChildSignal, childSignal } from './signal.js';

export interface HedgeOptions {
  /** Latency percentile after which a backup is sent. Default 0.95. */
  percentile?: number;
  /** Successful latencies the percentile is taken over. Default 1000. */
  windowSize?: number;
  /** Samples needed before the percentile is trusted. Default 100. */
  minSamples?: number;
  /** Delay used until then. Default 50 ms. */
  initialDelayMs?: number;
  /** Floor on the delay, so a fast service is not hedged on noise. Default 2 ms. */
  minDelayMs?: number;
  /** Backups per call. Default 1. */
  maxHedges?: number;
  /** Default: 10 % of calls plus 1 per second over 10 s; `false` for none. */
  budget?: RetryBudget | false;
  clock?: Clock;
}

export interface HedgeEvent {
  method: string;
  attempt: number;
  delayMs: number;
  /** Instances the backup avoids (those already tried). */
  avoid: string[];
}

export type HedgeFilter = Filter & { readonly onHedge: Event<HedgeEvent>; readonly delayMs: number };

const LOST = () => new RpcError('CANCELLED', 'another hedged attempt answered first');

/**
 * Hedged requests ("The Tail at Scale"): when an idempotent call has not answered within
 * the tracked latency percentile, send a backup to another instance; the first success
 * wins and the others are cancelled through their signals; a loser that had run for at least
 * the hedge delay is cancelled with `abandonedAsSlow`, which endpoint breakers and outlier
 * detection charge to its instance (so a hung instance gets ejected). A fast failure is returned as
 * is (that is retry's business, not hedging's). Non-idempotent calls pass straight through.
 */
export function hedge(options: HedgeOptions = {}): HedgeFilter {
  const clock = options.clock ?? systemClock;
  const tracker = new LatencyTracker(options.windowSize ?? 1000, options.percentile ?? 0.95);
  const minSamples = options.minSamples ?? 100;
  const initialDelayMs = options.initialDelayMs ?? 50;
  const minDelayMs = options.minDelayMs ?? 2;
  const maxHedges = options.maxHedges ?? 1;
  if (!(Number.isInteger(maxHedges) && maxHedges >= 1))
    throw new RangeError('hedge: maxHedges must be an integer >= 1');
  const budget =
    options.budget === false
      ? undefined
      : (options.budget ?? retryBudget({ percent: 0.1, minPerSecond: 1, clock }));
  const hedged = createEmitter<HedgeEvent>();

  const delay = () => (tracker.samples < minSamples ? initialDelayMs : Math.max(minDelayMs, tracker.value()));

  const filter: Filter = (req, ctx, next) => {
    if (!ctx.idempotent) return next(req, ctx);
    if (ctx.signal.aborted) return Promise.reject(abortError(ctx.signal));
    budget?.deposit();
    return new Promise((resolve, reject) => {
      const controllers: ChildSignal[] = [];
      const starts: number[] = [];
      const tried = new Set(ctx.avoid);
      let failed = 0;
      let settled = false;
      let timer: TimerHandle | undefined;
      const wait = delay();

      const finish = (winner?: ChildSignal) => {
        settled = true;
        if (timer !== undefined) clock.clearTimeout(timer);
        unlistenAbort(ctx.signal, onAbort);
        const now = clock.now();
        for (let i = 0; i < controllers.length; i++) {
          const c = controllers[i]!;
          if (c !== winner) {
            // A loser that ran past the hedge delay was slow by the very measure that sent the
            // backup: its instance is charged with it (see abandonedAsSlow). A backup that lost
            // to a primary answering just after it left is only cancelled.
            const ran = now - starts[i]!;
            c.abort(
              winner !== undefined && ran >= wait
                ? abandonedAsSlow(
                    `lost to a hedged attempt after ${Math.round(ran)} ms (hedge delay ${Math.round(wait)} ms)`,
                  )
                : LOST(),
            );
          }
          c.dispose();
        }
      };
      const onAbort = () => {
        if (settled) return;
        finish();
        reject(abortError(ctx.signal));
      };

      const launch = (n: number) => {
        const controller = childSignal(ctx.signal);
        controllers.push(controller);
        const signal = controller.signal;
        const patch: Partial<CallContext> =
          n === 0
            ? { signal, attempt: ctx.attempt }
            : { signal, attempt: ctx.attempt + n, avoid: new Set(tried) };
        const attemptCtx = withPickSink(withContext(ctx, patch), (id) => tried.add(id));
        const start = clock.now();
        starts.push(start);
        // invoke: a backup starts from a timer, where a synchronous throw would go uncaught.
        invoke(next, req, attemptCtx).then(
          (res) => {
            tracker.record(clock.now() - start);
            if (settled) return;
            finish(controller);
            resolve(res);
          },
          (err) => {
            if (settled) return;
            // Every attempt launched so far has failed and no backup is due: give up with this one.
            if (++failed === controllers.length) {
              finish();
              reject(err);
            }
          },
        );
      };

      const arm = () => {
        timer = clock.setTimeout(() => {
          timer = undefined;
          if (settled || clock.now() >= ctx.deadline) return;
          if (budget && !budget.tryWithdraw()) return;
          const n = controllers.length;
          if (hedged.size > 0)
            hedged.emit({ method: ctx.method, attempt: ctx.attempt + n, delayMs: wait, avoid: [...tried] });
          launch(n);
          if (n < maxHedges) arm();
        }, wait);
      };

      listenAbort(ctx.signal, onAbort);
      launch(0);
      if (!settled) arm();
    });
  };
  const out = Object.defineProperty(filter, 'delayMs', { get: delay });
  return Object.assign(out, { onHedge: hedged.event }) as HedgeFilter;
}
