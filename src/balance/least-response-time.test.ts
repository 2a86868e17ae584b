import { describe, expect, it } from 'vitest';
import { balancerContract } from './balancer.case.js';
import { leastResponseTime } from './least-response-time.js';
import { recordLatency } from './load-tracking.js';
import { mulberry32 } from './prng.js';
import { simulate, testContext, testEndpoints } from './test-endpoints.js';

balancerContract('leastResponseTime', () => leastResponseTime({ random: mulberry32(9) }));

const pick = (loads: { avgLatencyMs: number; inflight: number }[]) =>
  leastResponseTime().pick(
    testEndpoints(loads.length, (i) => ({ load: loads[i]! })),
    testContext(),
  )?.instance.id;

describe('leastResponseTime', () => {
  it('picks the lowest avgLatencyMs × (inflight + 1)', () => {
    expect(
      pick([
        { avgLatencyMs: 10, inflight: 3 }, // 40
        { avgLatencyMs: 30, inflight: 0 }, // 30
        { avgLatencyMs: 5, inflight: 9 }, // 50
      ]),
    ).toBe('e1');
  });

  it('scores an unmeasured endpoint with the mean latency of the measured ones', () => {
    // Mean 20: the idle newcomer scores 20 against 30 and 30, so it is tried at once…
    expect(
      pick([
        { avgLatencyMs: 10, inflight: 2 },
        { avgLatencyMs: 30, inflight: 0 },
        { avgLatencyMs: 0, inflight: 0 },
      ]),
    ).toBe('e2');
    // …but with 2 calls already out it scores 60, against 40 and 30.
    expect(
      pick([
        { avgLatencyMs: 10, inflight: 3 },
        { avgLatencyMs: 30, inflight: 0 },
        { avgLatencyMs: 0, inflight: 2 },
      ]),
    ).toBe('e1');
  });

  it('moves load away from a slow endpoint (closed loop, one of five 10× slower)', () => {
    const counts = simulate(leastResponseTime({ random: mulberry32(2) }), testEndpoints(5), {
      latencyMs: [100, 10, 10, 10, 10],
      concurrency: 20,
      calls: 5000,
      clock: { now: 0 },
      complete: (e, latency, at) => recordLatency(e.load, latency, at, true),
    });
    expect(counts.get('e0')! / 5000).toBeLessThan(0.05);
  });
});

balancerContract('leastResponseTime choices=2', () =>
  leastResponseTime({ random: mulberry32(9), choices: 2 }),
);
