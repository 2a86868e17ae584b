import { describe, expect, it } from 'vitest';
import { balancerContract } from './balancer.case.js';
import { mulberry32 } from './prng.js';
import { roundRobin } from './round-robin.js';
import { sequence, testEndpoints } from './test-endpoints.js';

balancerContract('roundRobin', () => roundRobin({ random: mulberry32(1) }));

describe('roundRobin', () => {
  it('visits each endpoint in turn from its starting position', () => {
    const b = roundRobin({ random: () => 0 });
    expect(sequence(b, testEndpoints(3), 7)).toEqual(['e0', 'e1', 'e2', 'e0', 'e1', 'e2', 'e0']);
  });

  it('starts clients at different positions', () => {
    const starts = new Set<string | undefined>();
    const rand = mulberry32(7);
    const endpoints = testEndpoints(10);
    for (let i = 0; i < 40; i++) starts.add(sequence(roundRobin({ random: rand }), endpoints, 1)[0]);
    expect(starts.size).toBeGreaterThan(5);
  });

  it('keeps rotating when the set shrinks below its position', () => {
    const b = roundRobin({ random: () => 0 });
    const endpoints = testEndpoints(5);
    sequence(b, endpoints, 4);
    expect(sequence(b, endpoints.slice(0, 2), 4)).toEqual(['e0', 'e1', 'e0', 'e1']);
  });
});
