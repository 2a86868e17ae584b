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
      // The first attempt lives in plain variables: most calls answer before any backup is
      // due, so the lists of attempts and the set of tried instances are made only then.
      let first!: ChildSignal;
      let firstStart = 0;
      let backups: ChildSignal[] | undefined;
      let backupStarts: number[] | undefined;
      let firstPick: string | undefined;
      let tried: Set<string> | undefined;
      let launched = 0;
      let failed = 0;
      let settled = false;
      let timer: TimerHandle | undefined;
      const wait = delay();

      const cancel = (c: ChildSignal, start: number, winner: ChildSignal | undefined, now: number) => {
        if (c !== winner) {
          // A loser that ran past the hedge delay was slow by the very measure that sent the
          // backup: its instance is charged with it (see abandonedAsSlow). A backup that lost
          // to a primary answering just after it left is only cancelled.
          const ran = now - start;
          c.abort(
            winner !== undefined && ran >= wait
              ? abandonedAsSlow(
                  `lost to a hedged attempt after ${Math.round(ran)} ms (hedge delay ${Math.round(wait)} ms)`,
                )
              : LOST(),
          );
        }
        c.dispose();
      };
      const finish = (winner?: ChildSignal) => {
        settled = true;
        if (timer !== undefined) clock.clearTimeout(timer);
        unlistenAbort(ctx.signal, onAbort);
        const now = clock.now();
        cancel(first, firstStart, winner, now);
        if (backups)
          for (let i = 0; i < backups.length; i++) cancel(backups[i]!, backupStarts![i]!, winner, now);
      };
      const onAbort = () => {
        if (settled) return;
        finish();
        reject(abortError(ctx.signal));
      };
      // Instances already tried, for the backups to avoid; built when the first backup leaves.
      const triedSoFar = () => {
        if (tried === undefined) {
          tried = new Set(ctx.avoid);
          if (firstPick !== undefined) tried.add(firstPick);
        }
        return tried;
      };
      const sink = (id: string) => {
        if (tried !== undefined) tried.add(id);
        else if (firstPick === undefined) firstPick = id;
        else triedSoFar().add(id);
      };

      const launch = (n: number) => {
        const controller = childSignal(ctx.signal);
        const signal = controller.signal;
        const patch: Partial<CallContext> =
          n === 0
            ? { signal, attempt: ctx.attempt }
            : { signal, attempt: ctx.attempt + n, avoid: new Set(triedSoFar()) };
        const attemptCtx = withPickSink(withContext(ctx, patch), sink);
        const start = clock.now();
        if (n === 0) {
          first = controller;
          firstStart = start;
        } else {
          (backups ??= []).push(controller);
          (backupStarts ??= []).push(start);
        }
        launched++;
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
            if (++failed === launched) {
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
          const n = launched;
          if (hedged.size > 0)
            hedged.emit({
              method: ctx.method,
              attempt: ctx.attempt + n,
              delayMs: wait,
              avoid: [...triedSoFar()],
            });
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
