import { describe, expect, it } from 'vitest';
import { retryBudget } from './budget.js';
import { fakeClock } from './testing.js';

describe('retryBudget', () => {
  it('allows the reserve, then percent of requests, over the window', async () => {
    const clock = fakeClock();
    const b = retryBudget({ percent: 0.2, minPerSecond: 1, windowMs: 10_000, clock });
    expect(b.balance()).toBe(10);
    for (let i = 0; i < 10; i++) expect(b.tryWithdraw()).toBe(true);
    expect(b.tryWithdraw()).toBe(false);
    for (let i = 0; i < 50; i++) b.deposit();
    expect(b.balance()).toBe(10);
    let granted = 0;
    while (b.tryWithdraw()) granted++;
    expect(granted).toBe(10);
  });

  it('caps retries at 20 % of traffic plus 10/s by default when everything fails', () => {
    const clock = fakeClock();
    const b = retryBudget({ clock });
    let retries = 0;
    for (let i = 0; i < 1000; i++) {
      b.deposit();
      if (b.tryWithdraw()) retries++;
    }
    expect(retries).toBe(200 + 100);
  });

  it('forgets deposits and withdrawals once they leave the window', async () => {
    const clock = fakeClock();
    const b = retryBudget({ percent: 0.5, minPerSecond: 0, windowMs: 1000, clock });
    for (let i = 0; i < 4; i++) b.deposit();
    expect(b.tryWithdraw()).toBe(true);
    expect(b.tryWithdraw()).toBe(true);
    expect(b.tryWithdraw()).toBe(false);
    await clock.advance(1000);
    expect(b.balance()).toBe(0);
    b.deposit();
    b.deposit();
    expect(b.tryWithdraw()).toBe(true);
  });

  it('rejects invalid settings', () => {
    expect(() => retryBudget({ percent: 2 })).toThrow(RangeError);
    expect(() => retryBudget({ minPerSecond: -1 })).toThrow(RangeError);
  });
});
