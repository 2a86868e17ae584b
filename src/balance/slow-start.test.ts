import { describe, expect, it } from 'vitest';
import { effectiveWeight, slowStart } from './slow-start.js';
import { testEndpoint } from './test-endpoints.js';

describe('slowStart', () => {
  const e = testEndpoint({ weight: 4, firstSeenMs: 1000 });

  it('ramps weight × max(floor, t / window) from first sight, then stays at full weight', () => {
    const ramp = slowStart({ windowMs: 10_000, floor: 0.1 });
    const at = (t: number) => effectiveWeight(e, 1000 + t, ramp);
    expect(at(-50)).toBeCloseTo(0.4); // clock skew before first sight: floor
    expect(at(0)).toBeCloseTo(0.4);
    expect(at(999)).toBeCloseTo(0.4);
    expect(at(2_500)).toBeCloseTo(1);
    expect(at(5_000)).toBeCloseTo(2);
    expect(at(9_999)).toBeCloseTo(3.9996);
    expect(at(10_000)).toBe(4);
    expect(at(1e9)).toBe(4);
  });

  it('shapes the ramp with aggression: (t / window)^(1 / aggression)', () => {
    const ramp = slowStart({ windowMs: 10_000, floor: 0, aggression: 2 });
    expect(ramp.factor(e, 1000 + 2_500)).toBeCloseTo(0.5);
    expect(ramp.factor(e, 1000 + 8_100)).toBeCloseTo(0.9);
  });

  it('leaves weights alone without a ramp, and zero weights at zero', () => {
    expect(effectiveWeight(e, 1000)).toBe(4);
    expect(effectiveWeight(testEndpoint({ weight: 0, firstSeenMs: 0 }), 10, slowStart())).toBe(0);
  });

  it('defaults to a 30 s window with a 10 % floor', () => {
    const ramp = slowStart();
    expect(ramp.windowMs).toBe(30_000);
    expect(ramp.factor(e, 1000)).toBeCloseTo(0.1);
    expect(ramp.factor(e, 1000 + 15_000)).toBeCloseTo(0.5);
  });

  it('rejects nonsensical options', () => {
    expect(() => slowStart({ windowMs: 0 })).toThrow(RangeError);
    expect(() => slowStart({ floor: 1.5 })).toThrow(RangeError);
    expect(() => slowStart({ aggression: 0 })).toThrow(RangeError);
  });
});
