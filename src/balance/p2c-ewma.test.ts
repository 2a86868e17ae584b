import { describe, expect, it } from 'vitest';
import type { EndpointLoad } from '../client/endpoint-types.js';
import { balancerContract } from './balancer.case.js';
import { recordLatency } from './load-tracking.js';
import { p2cEwma } from './p2c-ewma.js';
import { mulberry32 } from './prng.js';
import { roundRobin } from './round-robin.js';
import { slowStart } from './slow-start.js';
import { countPicks, simulate, testContext, testEndpoint, testEndpoints } from './test-endpoints.js';

balancerContract('p2cEwma', () => p2cEwma({ random: mulberry32(10), now: () => 0 }));
balancerContract('p2cEwma + slowStart', () =>
  p2cEwma({ random: mulberry32(10), now: () => 0, slowStart: slowStart({ now: () => 0 }) }),
);

const measured = (peakEwmaMs: number, inflight = 0, ewmaStampMs = 0): Partial<EndpointLoad> => ({
  peakEwmaMs,
  inflight,
  ewmaStampMs,
  completed: 1,
});

/** With two endpoints P2C always compares both, so the winner is deterministic. */
function winner(loads: Partial<EndpointLoad>[], now = 0, weights = [1, 1]): string {
  const endpoints = testEndpoints(2, (i) => ({ load: loads[i]!, weight: weights[i]! }));
  const counts = countPicks(p2cEwma({ random: mulberry32(1), now: () => now }), endpoints, 50);
  const winners = [...counts].filter(([, c]) => c > 0);
  expect(winners).toHaveLength(1);
  return winners[0]![0];
}

describe('p2cEwma', () => {
  it('takes the lower cost × (pending + 1)', () => {
    expect(winner([measured(100), measured(10)])).toBe('e1');
    expect(winner([measured(10, 9), measured(50, 0)])).toBe('e1'); // 100 vs 50
    expect(winner([measured(10, 9), measured(50, 2)])).toBe('e0'); // 100 vs 150
  });

  it('decays a stale cost on read, so an instance that was slow is retried (τ = decayMs)', () => {
    // 100 ms stamped at 0 decays below a fresh 20 ms after τ·ln(5) ≈ 16.1 s.
    const loads = (now: number) => [measured(100, 0, 0), measured(20, 0, now)];
    expect(winner(loads(16_000), 16_000)).toBe('e1');
    expect(winner(loads(16_200), 16_200)).toBe('e0');
  });

  it('probes an unmeasured endpoint while idle and penalises it while the probe is out', () => {
    expect(winner([measured(5), { inflight: 0 }])).toBe('e1');
    expect(winner([measured(5, 50), { inflight: 1 }])).toBe('e0');
    // A penalty of a typical latency lets it compete as an average endpoint instead.
    const endpoints = [testEndpoint({ load: measured(30, 2) }), testEndpoint({ load: { inflight: 1 } })];
    const b = p2cEwma({ penaltyMs: 30, now: () => 0 });
    expect(b.pick(endpoints, testContext())).toBe(endpoints[1]); // 60 < 90
  });

  it('divides load by weight: weight 2 means twice the capacity', () => {
    expect(winner([measured(30), measured(20)], 0, [2, 1])).toBe('e0'); // 15 vs 20
    expect(winner([measured(30), measured(20)], 0, [1, 1])).toBe('e1');
  });

  it('keeps a ramping newcomer behind equally loaded warm endpoints until slow start ends', () => {
    const clock = { now: 0 };
    const endpoints = [
      testEndpoint({ id: 'old', load: measured(10) }),
      testEndpoint({ id: 'new', firstSeenMs: 0, load: measured(10) }),
    ];
    const b = p2cEwma({
      random: mulberry32(3),
      now: () => 0,
      slowStart: slowStart({ windowMs: 1000, now: () => clock.now }),
    });
    expect(countPicks(b, endpoints, 100).get('new')).toBe(0);
    clock.now = 1000;
    // Equal loads now: the first sampled wins, so the newcomer gets about half.
    expect(countPicks(b, endpoints, 1000).get('new')).toBeGreaterThan(400);
  });

  it('moves load away from a slow endpoint: far below round-robin with one of five 10× slower', () => {
    const run = (balancer: ReturnType<typeof roundRobin>, clock: { now: number }) =>
      simulate(balancer, testEndpoints(5), {
        latencyMs: [100, 10, 10, 10, 10],
        concurrency: 20,
        calls: 10_000,
        clock,
        complete: (e, latency, at) => recordLatency(e.load, latency, at, true),
      }).get('e0')! / 10_000;
    const clock = { now: 0 };
    expect(run(roundRobin({ random: () => 0 }), { now: 0 })).toBeCloseTo(0.2, 2);
    expect(run(p2cEwma({ random: mulberry32(4), now: () => clock.now }), clock)).toBeLessThan(0.05);
  });
});
