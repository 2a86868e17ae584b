import { describe, expect, it } from 'vitest';
import { census, type FleetSignals, type InstanceSignals } from './fleet.js';
import { targetTracking } from './policy.js';
import type { LoadSnapshot } from './signals.js';

const at = 1_000_000;
const instance = (
  id: string,
  registeredAgoMs: number,
  uptimeMs: number,
  inflight: number,
): InstanceSignals => ({
  id,
  address: `127.0.0.1:${id.charCodeAt(0)}`,
  status: 'UP',
  registeredAt: at - registeredAgoMs,
  snapshot: { uptimeMs, inflight, concurrency: inflight } as LoadSnapshot,
});

// One old instance carrying 12 calls; two warm spares activated half a second ago (processes
// up a minute, idle because they are new); one instance booted from scratch.
const fleet: FleetSignals = {
  service: 'svc',
  at,
  instances: [
    instance('a', 600_000, 600_000, 12),
    instance('b', 500, 60_000, 0),
    instance('c', 500, 60_000, 0),
    instance('d', 500, 300, 0),
  ],
};

describe('census', () => {
  it('counts an instance young by registration as starting, though its process is old', () => {
    const c = census(fleet, 10_000);
    expect(c.ready.map((i) => i.id)).toEqual(['a']);
    expect(c.starting.map((i) => i.id)).toEqual(['b', 'c', 'd']);
  });

  it('with no start-up period, counts every measured UP instance as ready, whatever the clocks say', () => {
    const skewed = { ...fleet, at: at - 60_000 }; // registry clock ahead of the autoscaler's
    expect(census(skewed).ready.map((i) => i.id)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('keeps just-activated spares from shrinking the fleet they were added to', () => {
    const policy = targetTracking({
      targets: [{ signal: 'inflight', target: 4 }],
      maxReplicas: 10,
      startupMs: 10_000,
      scaleDown: { stabilizationMs: 0 },
      now: () => at,
    });
    const d = policy(fleet, 4);
    expect([d.ready, d.starting]).toEqual([1, 3]);
    // Counted as ready, the idle spares would average 3 in flight and scale in to 3; as
    // starting they only damp the scale-out the old instance's 12 asks for.
    expect([d.direction, d.desired]).toEqual(['none', 4]);
  });
});
