import { describe, expect, it } from 'vitest';
import { balancerContract } from './balancer.case.js';
import { mulberry32 } from './prng.js';
import { slowStart } from './slow-start.js';
import { countPicks, testEndpoint, testEndpoints } from './test-endpoints.js';
import { weightedRandom } from './weighted-random.js';

balancerContract('weightedRandom', () => weightedRandom({ random: mulberry32(4) }));
balancerContract('weightedRandom + slowStart', () =>
  weightedRandom({ random: mulberry32(4), slowStart: slowStart({ now: () => 0 }) }),
);

const share = (counts: Map<string, number>, id: string, total: number) => counts.get(id)! / total;

describe('weightedRandom', () => {
  it('picks in proportion to weight: 1,2,7 → 0.1,0.2,0.7 ± 0.015 over 40,000 seeded picks (σ ≤ 0.0023)', () => {
    const endpoints = testEndpoints(3, (i) => ({ weight: [1, 2, 7][i]! }));
    const counts = countPicks(weightedRandom({ random: mulberry32(5) }), endpoints, 40_000);
    expect(Math.abs(share(counts, 'e0', 40_000) - 0.1)).toBeLessThan(0.015);
    expect(Math.abs(share(counts, 'e1', 40_000) - 0.2)).toBeLessThan(0.015);
    expect(Math.abs(share(counts, 'e2', 40_000) - 0.7)).toBeLessThan(0.015);
  });

  it('never picks a zero-weight endpoint while another has weight', () => {
    const endpoints = testEndpoints(4, (i) => ({ weight: i === 2 ? 0 : 1 }));
    expect(countPicks(weightedRandom({ random: mulberry32(6) }), endpoints, 5000).get('e2')).toBe(0);
  });

  it('ramps a new endpoint in along the slow-start curve (fake clock)', () => {
    const clock = { now: 0 };
    const ramp = slowStart({ windowMs: 10_000, floor: 0.1, now: () => clock.now });
    const b = weightedRandom({ random: mulberry32(7), slowStart: ramp });
    const endpoints = [testEndpoint({ id: 'old' }), testEndpoint({ id: 'new', firstSeenMs: 0 })];
    // Expected share of the newcomer: f / (1 + f) with f = max(0.1, t / window); ± 0.02 over 20,000 picks.
    for (const [t, f] of [
      [0, 0.1],
      [500, 0.1],
      [5_000, 0.5],
      [7_500, 0.75],
      [10_000, 1],
      [60_000, 1],
    ] as const) {
      clock.now = t;
      const counts = countPicks(b, endpoints, 20_000);
      expect(Math.abs(share(counts, 'new', 20_000) - f / (1 + f)), `at t=${t}`).toBeLessThan(0.02);
    }
  });
});
