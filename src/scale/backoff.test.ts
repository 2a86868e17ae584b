import { describe, expect, it } from 'vitest';
import { crashBackoff } from './backoff.js';

describe('crash backoff', () => {
  const options = { initialMs: 100, maxMs: 1_000, stableMs: 10_000 };

  it('doubles while crashes come one after another, up to the maximum', () => {
    const b = crashBackoff(options);
    let now = 1_000_000;
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      delays.push(b.crash(now));
      now = b.until + 50; // the restarted child dies soon after starting
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('starts over after a stable period, however long ago the burst was', () => {
    const b = crashBackoff(options);
    let now = 1_000_000;
    for (let i = 0; i < 5; i++) now = now + b.crash(now) + 10;
    expect(b.crash(now)).toBe(1_000);
    // Hours of health, then one crash: the fastest restart again.
    expect(b.crash(b.until + 3_600_000)).toBe(100);
    // Just short of the stable period after that delay: still counted as a burst.
    expect(b.crash(b.until + 9_999)).toBe(200);
    expect(b.crash(b.until + 10_000)).toBe(100);
  });

  it('stays at the maximum in a crash loop whose delay reaches the stable period', () => {
    const b = crashBackoff({ initialMs: 5_000, maxMs: 10_000, stableMs: 10_000 });
    let now = 0;
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      delays.push(b.crash(now));
      now = b.until + 1_000;
    }
    expect(delays).toEqual([5_000, 10_000, 10_000, 10_000]);
  });
});
