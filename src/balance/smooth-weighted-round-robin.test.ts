import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { balancerContract } from './balancer.case.js';
import { slowStart } from './slow-start.js';
import { smoothWeightedRoundRobin } from './smooth-weighted-round-robin.js';
import { countPicks, sequence, testEndpoint, testEndpoints } from './test-endpoints.js';

balancerContract('smoothWeightedRoundRobin', () => smoothWeightedRoundRobin());
balancerContract('smoothWeightedRoundRobin + slowStart', () =>
  smoothWeightedRoundRobin({ slowStart: slowStart({ now: () => 0 }) }),
);

/** The nginx step, written plainly, as the reference the replaying implementation must match. */
function reference(weights: readonly number[], picks: number): number[] {
  const current = weights.map(() => 0);
  const total = weights.reduce((a, b) => a + b, 0);
  const out: number[] = [];
  for (let p = 0; p < picks; p++) {
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    out.push(best);
  }
  return out;
}

describe('smoothWeightedRoundRobin', () => {
  it('gives the nginx sequence for weights 5,1,1: a a b a c a a, period after period', () => {
    const endpoints = [
      testEndpoint({ id: 'a', weight: 5 }),
      testEndpoint({ id: 'b', weight: 1 }),
      testEndpoint({ id: 'c', weight: 1 }),
    ];
    const period = ['a', 'a', 'b', 'a', 'c', 'a', 'a'];
    expect(sequence(smoothWeightedRoundRobin(), endpoints, 21)).toEqual([...period, ...period, ...period]);
  });

  it('matches the plain nginx step for any integer weights, including after replay starts (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 8 }), (raw) => {
        const weights = raw.every((w) => w === 0) ? raw.map(() => 1) : raw;
        const endpoints = testEndpoints(weights.length, (i) => ({ weight: raw[i]! }));
        const total = weights.reduce((a, b) => a + b, 0);
        const expected = reference(weights, total * 3).map((i) => `e${i}`);
        expect(sequence(smoothWeightedRoundRobin(), endpoints, total * 3)).toEqual(expected);
      }),
      { seed: 11, numRuns: 200 },
    );
  });

  it('handles fractional weights exactly in proportion', () => {
    const endpoints = testEndpoints(2, (i) => ({ weight: [0.5, 1.5][i]! }));
    const counts = countPicks(smoothWeightedRoundRobin(), endpoints, 200);
    expect([counts.get('e0'), counts.get('e1')]).toEqual([50, 150]);
  });

  it('ramps a new endpoint in along the slow-start curve (fake clock)', () => {
    const clock = { now: 0 };
    const ramp = slowStart({ windowMs: 1000, floor: 0.1, now: () => clock.now });
    const b = smoothWeightedRoundRobin({ slowStart: ramp });
    const endpoints = [testEndpoint({ id: 'old' }), testEndpoint({ id: 'new', firstSeenMs: 0 })];
    // Deterministic: over (1 + f) × 100 picks the newcomer gets f × 100, ± 1 for phase.
    for (const [t, f] of [
      [0, 0.1],
      [500, 0.5],
      [1000, 1],
    ] as const) {
      clock.now = t;
      const picks = Math.round((1 + f) * 100);
      const got = countPicks(b, endpoints, picks).get('new')!;
      expect(Math.abs(got - f * 100), `at t=${t}`).toBeLessThanOrEqual(1);
    }
    // Once warm, weights are integers again and the exact alternation resumes.
    expect(sequence(b, endpoints, 6)).toEqual(['old', 'new', 'old', 'new', 'old', 'new']);
  });
});
