import { describe, expect, it } from 'vitest';
import { balancerContract } from './balancer.case.js';
import { mulberry32 } from './prng.js';
import { random } from './random.js';
import { countPicks, sequence, testEndpoints } from './test-endpoints.js';

balancerContract('random', () => random({ random: mulberry32(2) }));

describe('random', () => {
  it('is uniform: each of 3 endpoints gets 1/3 ± 0.02 of 30,000 seeded picks (σ ≈ 0.0027)', () => {
    const counts = countPicks(random({ random: mulberry32(3) }), testEndpoints(3), 30_000);
    for (const c of counts.values()) expect(Math.abs(c / 30_000 - 1 / 3)).toBeLessThan(0.02);
  });

  it('replays the same sequence from the same seed', () => {
    const endpoints = testEndpoints(8);
    const a = sequence(random({ random: mulberry32(9) }), endpoints, 50);
    expect(sequence(random({ random: mulberry32(9) }), endpoints, 50)).toEqual(a);
    expect(sequence(random({ random: mulberry32(10) }), endpoints, 50)).not.toEqual(a);
  });
});
