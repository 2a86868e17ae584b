import { type Clock, systemClock } from './clock.js';
import { WindowedCounter } from './window.js';

/**
 * A retry budget (Finagle's RetryBudget, Linkerd's retry budgets): every request deposits
 * `percent` of a token and every retry withdraws one, over a sliding window, plus a reserve
 * of `minPerSecond` retries per second so quiet clients can still retry. When a whole
 * fleet fails, retries are capped at `percent` extra load instead of multiplying it.
 */
export interface RetryBudget {
  /** Records one original request. */
  deposit(): void;
  /** Takes one retry from the budget; false when it is spent. */
  tryWithdraw(): boolean;
  /** Retries available now. */
  balance(): number;
}

export interface RetryBudgetOptions {
  /** Share of requests that may be retried. Default 0.2 (Finagle, Linkerd). */
  percent?: number;
  /** Retries per second allowed regardless of traffic. Default 10 (Finagle, Linkerd). */
  minPerSecond?: number;
  /** Window over which deposits and withdrawals count. Default 10 s (Finagle, Linkerd). */
  windowMs?: number;
  clock?: Pick<Clock, 'now'>;
}

export function retryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const percent = options.percent ?? 0.2;
  const minPerSecond = options.minPerSecond ?? 10;
  const windowMs = options.windowMs ?? 10_000;
  if (!(percent >= 0 && percent <= 1)) throw new RangeError('retryBudget: percent must be within [0, 1]');
  if (!(minPerSecond >= 0)) throw new RangeError('retryBudget: minPerSecond must be >= 0');
  const now = (options.clock ?? systemClock).now;
  const deposits = new WindowedCounter(windowMs, 10, now);
  const withdrawals = new WindowedCounter(windowMs, 10, now);
  const reserve = (minPerSecond * windowMs) / 1000;
  const balance = () => reserve + percent * deposits.sum() - withdrawals.sum();
  return {
    deposit: () => deposits.add(1),
    tryWithdraw() {
      if (balance() < 1) return false;
      withdrawals.add(1);
      return true;
    },
    balance: () => Math.max(0, Math.floor(balance())),
  };
}

/** A budget that never runs out, for tests and for callers that bound retries otherwise. */
export const unlimitedBudget: RetryBudget = {
  deposit() {},
  tryWithdraw: () => true,
  balance: () => Number.POSITIVE_INFINITY,
};
