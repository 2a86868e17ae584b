import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../balance/prng.js';
import { constantBackoff, exponentialBackoff } from './backoff.js';

describe('exponentialBackoff', () => {
  it('doubles up to the cap without jitter', () => {
    const b = exponentialBackoff({ baseMs: 10, maxMs: 70, jitter: 'none' });
    expect([1, 2, 3, 4, 5, 2000].map((n) => b(n, 0))).toEqual([10, 20, 40, 70, 70, 70]);
  });

  it('full jitter stays in [0, min(cap, base·2^(n-1))] and uses the injected random', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 1e6 }), (retry, seed) => {
        const b = exponentialBackoff({ baseMs: 5, maxMs: 300, random: mulberry32(seed) });
        const d = b(retry, 0);
        return d >= 0 && d <= Math.min(300, 5 * 2 ** (retry - 1));
      }),
    );
    expect(exponentialBackoff({ baseMs: 10, maxMs: 100, random: () => 0.5 })(3, 0)).toBe(20);
  });

  it('equal jitter stays in the upper half of [0, min(cap, base·2^(n-1))]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 1e6 }), (retry, seed) => {
        const d = exponentialBackoff({ baseMs: 5, maxMs: 300, jitter: 'equal', random: mulberry32(seed) })(
          retry,
          0,
        );
        const ceiling = Math.min(300, 5 * 2 ** (retry - 1));
        return d >= ceiling / 2 && d <= ceiling;
      }),
    );
    expect(exponentialBackoff({ baseMs: 10, maxMs: 100, jitter: 'equal', random: () => 0 })(3, 0)).toBe(20);
  });

  it('decorrelated jitter stays within [base, cap] and grows from the previous delay', () => {
    const b = exponentialBackoff({ baseMs: 10, maxMs: 1000, jitter: 'decorrelated', random: () => 1 });
    let prev = 0;
    const seq = [];
    for (let i = 1; i <= 6; i++) seq.push((prev = b(i, prev)));
    expect(seq).toEqual([30, 90, 270, 810, 1000, 1000]);
    const low = exponentialBackoff({ baseMs: 10, maxMs: 1000, jitter: 'decorrelated', random: () => 0 });
    expect(low(5, 500)).toBe(10);
  });

  it('rejects nonsense and offers a constant', () => {
    expect(() => exponentialBackoff({ baseMs: 0 })).toThrow(RangeError);
    expect(() => exponentialBackoff({ baseMs: 10, maxMs: 5 })).toThrow(RangeError);
    expect(constantBackoff(7)(9, 3)).toBe(7);
  });
});
