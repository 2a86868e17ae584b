import { describe, expect, it } from 'vitest';
import { balancerContract } from './balancer.case.js';
import { leastConnections } from './least-connections.js';
import { recordLatency } from './load-tracking.js';
import { mulberry32 } from './prng.js';
import { roundRobin } from './round-robin.js';
import { slowStart } from './slow-start.js';
import {
  countPicks,
  sequence,
  simulate,
  testContext,
  testEndpoint,
  testEndpoints,
} from './test-endpoints.js';

balancerContract('leastConnections', () => leastConnections({ random: mulberry32(8) }));

describe('leastConnections', () => {
  it('picks the endpoint with the fewest calls in flight', () => {
    const endpoints = testEndpoints(4, (i) => ({ load: { inflight: [5, 2, 3, 9][i]! } }));
    expect(leastConnections().pick(endpoints, testContext())?.instance.id).toBe('e1');
  });

  it('breaks ties by the higher weight, then rotates among equals', () => {
    const endpoints = testEndpoints(4, (i) => ({ weight: [1, 3, 3, 2][i]!, load: { inflight: 1 } }));
    const picked = sequence(leastConnections({ random: () => 0 }), endpoints, 4);
    expect(new Set(picked)).toEqual(new Set(['e1', 'e2']));
    expect(sequence(leastConnections({ random: () => 0 }), testEndpoints(3), 6)).toEqual([
      'e1',
      'e2',
      'e0',
      'e1',
      'e2',
      'e0',
    ]);
  });

  it('breaks ties by slow-start weight: a newcomer loses ties until warm', () => {
    const clock = { now: 0 };
    const b = leastConnections({
      slowStart: slowStart({ windowMs: 1000, now: () => clock.now }),
      random: () => 0,
    });
    const endpoints = [testEndpoint({ id: 'new', firstSeenMs: 0 }), testEndpoint({ id: 'old' })];
    expect(sequence(b, endpoints, 4)).toEqual(['old', 'old', 'old', 'old']);
    clock.now = 1000;
    expect(new Set(sequence(b, endpoints, 4))).toEqual(new Set(['old', 'new']));
  });

  it('moves load away from a slow endpoint (closed loop, one of five 10× slower)', () => {
    const run = (balancer = leastConnections({ random: mulberry32(1) })) =>
      simulate(balancer, testEndpoints(5), {
        latencyMs: [100, 10, 10, 10, 10],
        concurrency: 20,
        calls: 5000,
        clock: { now: 0 },
        complete: (e, latency, at) => recordLatency(e.load, latency, at, true),
      });
    // Round-robin sends the slow one its fair 20 %; least connections about 1/41 (2.4 %).
    expect(run(roundRobin({ random: () => 0 })).get('e0')! / 5000).toBeCloseTo(0.2, 2);
    expect(run().get('e0')! / 5000).toBeLessThan(0.05);
  });
});

describe('leastConnections with choices', () => {
  balancerContract('leastConnections choices=2', () =>
    leastConnections({ random: mulberry32(8), choices: 2 }),
  );

  it('samples only `choices` endpoints, yet still steers away from the busy one', () => {
    const endpoints = testEndpoints(50, (i) => ({ load: { inflight: i === 0 ? 100 : 0 } }));
    const counts = countPicks(leastConnections({ random: mulberry32(3), choices: 2 }), endpoints, 5000);
    // e0 wins only when sampled twice: (1/50)² of picks ≈ 2.
    expect(counts.get('e0')!).toBeLessThan(15);
    expect(() => leastConnections({ choices: 0 })).toThrow(RangeError);
  });
});
