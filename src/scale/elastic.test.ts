import { afterAll, describe, expect, it } from 'vitest';
import { type ElasticFleet, startElasticFleet } from './demo/elastic.js';
import { type LoadGenerator, openLoop } from './demo/load.js';
import type { ScaleDecision } from './policy.js';

// End to end with real processes: embedded registry, a process pool of demo instances
// (4 calls at once × 50 ms each: 80 calls/s per instance), the autoscaler, and an
// open-loop client finding instances through the registry.
let fleet: ElasticFleet | undefined;
let load: LoadGenerator | undefined;
afterAll(async () => {
  await load?.stop();
  await fleet?.close();
});

describe('elastic loop', () => {
  it('scales out under load and back in after it, with no failed call', { timeout: 60_000 }, async () => {
    fleet = await startElasticFleet({
      concurrency: 4,
      workMs: 50,
      targetInflight: 2,
      minReplicas: 1,
      maxReplicas: 4,
      intervalMs: 500,
      scaleDown: { stabilizationMs: 3_000 },
      deregisterDelayMs: 300,
    });
    const decisions: ScaleDecision[] = [];
    fleet.autoscaler.onDecision((d) => decisions.push(d));
    const { pool, client } = fleet;
    let rate = 20;
    load = openLoop({ call: () => client.work({}), rate: () => rate });
    await expect.poll(() => load!.totals.ok, { timeout: 5_000 }).toBeGreaterThan(20);
    expect(await pool.replicas()).toBe(1);

    // 160 calls/s needs 8 calls in flight: twice one instance's capacity, 4× the target.
    rate = 160;
    let peak = 0;
    await expect
      .poll(() => (peak = Math.max(peak, pool.members.filter((m) => m.state === 'ready').length)), {
        timeout: 25_000,
        interval: 200,
      })
      .toBeGreaterThanOrEqual(3);
    const up = decisions.find((d) => d.direction === 'up');
    expect(up?.reason).toMatch(/inflight .* vs target 2\.00/);

    // Load falls back: after the 3 s scale-down window the fleet shrinks, while calls continue.
    rate = 10;
    const active = () => pool.members.filter((m) => m.role === 'active');
    await expect.poll(() => active().length, { timeout: 25_000, interval: 200 }).toBe(1);
    expect(decisions.some((d) => d.direction === 'down')).toBe(true);
    const sentBefore = load.totals.sent;
    await expect.poll(() => load!.totals.sent, { timeout: 5_000 }).toBeGreaterThan(sentBefore + 10);
    await load.stop();
    expect(load.errors).toEqual([]);
    expect(load.totals.failed).toBe(0);
    expect(load.totals.ok).toBe(load.totals.sent);
  });
});
