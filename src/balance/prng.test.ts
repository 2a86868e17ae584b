import { describe, expect, it } from 'vitest';
import { hash32 } from './hash.js';
import { mulberry32 } from './prng.js';

describe('mulberry32', () => {
  it('is deterministic per seed, within [0, 1), and uniform in the mean', () => {
    const a = mulberry32(123);
    const b = mulberry32(123);
    let sum = 0;
    let bad = 0;
    for (let i = 0; i < 20_000; i++) {
      const x = a();
      if (x !== b() || !(x >= 0 && x < 1)) bad++;
      sum += x;
    }
    expect(bad).toBe(0);
    // σ of the mean of 20,000 uniforms is ≈ 0.002.
    expect(Math.abs(sum / 20_000 - 0.5)).toBeLessThan(0.01);
  });
});

describe('hash32', () => {
  it('is stable, unsigned, and spreads near-identical inputs over the whole range', () => {
    expect(hash32('node-1#0')).toBe(hash32('node-1#0'));
    const buckets = new Array<number>(16).fill(0);
    let bad = 0;
    for (let i = 0; i < 16_000; i++) {
      const h = hash32(`node-1#${i}`);
      if (!(Number.isInteger(h) && h >= 0 && h < 2 ** 32)) bad++;
      buckets[h >>> 28]!++;
    }
    expect(bad).toBe(0);
    // 1,000 expected per bucket, σ ≈ 31.
    for (const b of buckets) expect(Math.abs(b - 1000)).toBeLessThan(150);
  });
});
