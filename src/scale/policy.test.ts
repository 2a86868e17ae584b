import { describe, expect, it } from 'vitest';
import type { InstanceStatus } from '../registry/instance.js';
import type { FleetSignals, InstanceSignals } from './fleet.js';
import { type TargetTrackingOptions, targetTracking } from './policy.js';
import type { LoadSnapshot } from './signals.js';

const snap = (fields: Partial<LoadSnapshot>): LoadSnapshot => ({
  at: 0,
  uptimeMs: 60_000,
  windowMs: 10_000,
  inflight: 0,
  concurrency: 0,
  rate: 0,
  p50Ms: 0,
  p90Ms: 0,
  p99Ms: 0,
  calls: 0,
  errors: 0,
  shed: 0,
  utilization: 0,
  cpu: 0,
  pid: 1,
  ...fields,
});

let seq = 0;
const inst = (
  fields: Partial<LoadSnapshot> | undefined,
  status: InstanceStatus = 'UP',
  registeredAt = 0,
): InstanceSignals => {
  const id = `i${++seq}`;
  return {
    id,
    address: `127.0.0.1:${1000 + seq}`,
    status,
    registeredAt,
    ...(fields ? { snapshot: snap(fields) } : {}),
  };
};
const fleet = (...instances: InstanceSignals[]): FleetSignals => ({ service: 'svc', at: 100_000, instances });
const inflight = (...values: number[]) => fleet(...values.map((v) => inst({ inflight: v })));

function clocked(options: Omit<TargetTrackingOptions, 'now'>) {
  const clock = { t: 1_000_000 };
  const policy = targetTracking({ ...options, now: () => clock.t });
  return { policy, clock };
}
const quick = { scaleDown: { stabilizationMs: 0 } };

describe('targetTracking: the HPA formula', () => {
  it('desires ceil(current × average / target) and explains why', () => {
    const { policy } = clocked({ targets: [{ signal: 'inflight', target: 4 }], maxReplicas: 20 });
    const d = policy(inflight(12, 12), 2);
    expect(d.desired).toBe(6);
    expect(d.direction).toBe('up');
    expect(d.signals[0]).toMatchObject({ name: 'inflight', average: 12, ratio: 3, desired: 6 });
    expect(d.reason).toContain('2 → 6');
    expect(d.reason).toContain('inflight 12.00 vs target 4.00');
  });

  it('does nothing inside the tolerance band and acts just outside it', () => {
    const { policy } = clocked({ targets: [{ signal: 'inflight', target: 4 }], maxReplicas: 20, ...quick });
    expect(policy(inflight(4.3, 4.3), 2)).toMatchObject({ desired: 2, direction: 'none' });
    expect(policy(inflight(3.7, 3.7), 2).desired).toBe(2);
    expect(policy(inflight(4.5, 4.5), 2).desired).toBe(3); // ratio 1.125 → ceil(2.25)
  });

  it('a wider tolerance absorbs more', () => {
    const { policy } = clocked({
      targets: [{ signal: 'inflight', target: 4 }],
      tolerance: 0.2,
      maxReplicas: 9,
    });
    expect(policy(inflight(4.5, 4.5), 2).desired).toBe(2);
  });

  it('takes the largest desire across several signals, custom ones included', () => {
    const { policy } = clocked({
      targets: [
        { signal: 'inflight', target: 4 },
        { signal: 'p99Ms', target: 100 },
        { signal: (s) => s.shed, target: 1, name: 'shed' },
      ],
      maxReplicas: 20,
    });
    const d = policy(
      fleet(inst({ inflight: 4, p99Ms: 250, shed: 0 }), inst({ inflight: 4, p99Ms: 250, shed: 0 })),
      2,
    );
    expect(d.signals.map((s) => s.desired)).toEqual([2, 5, 0]);
    expect(d.desired).toBe(5);
  });

  it('leaves starting instances out of the average and damps scale-out while they come up', () => {
    const { policy } = clocked({ targets: [{ signal: 'inflight', target: 4 }], maxReplicas: 20 });
    // 6 asked for: 2 ready carrying 24 calls, 1 registered STARTING, 3 not registered yet.
    const starting = inst(undefined, 'STARTING');
    expect(policy(fleet(inst({ inflight: 12 }), inst({ inflight: 12 }), starting), 6)).toMatchObject({
      desired: 6,
      ready: 2,
      starting: 4,
    });
    // Load still rising: 32 calls over 6 → ratio 1.33 → 8.
    expect(policy(fleet(inst({ inflight: 16 }), inst({ inflight: 16 }), starting), 6).desired).toBe(8);
  });

  it('counts instances younger than startupMs as starting', () => {
    const { policy } = clocked({
      targets: [{ signal: 'inflight', target: 4 }],
      maxReplicas: 20,
      startupMs: 5_000,
    });
    const d = policy(fleet(inst({ inflight: 12 }), inst({ inflight: 0, uptimeMs: 1_000 })), 2);
    expect([d.ready, d.starting, d.desired]).toEqual([1, 1, 3]); // 12 over 2 → 1.5 → ceil(3)
  });

  it('treats unanswered instances as at target when scaling in, and never scales in with a blind signal', () => {
    const { policy } = clocked({ targets: [{ signal: 'inflight', target: 4 }], maxReplicas: 20, ...quick });
    // Two answer with 1 call each, one does not: (1 + 1 + 4) / 3 / 4 = 0.5 → 2.
    const d = policy(fleet(inst({ inflight: 1 }), inst({ inflight: 1 }), inst(undefined)), 3);
    expect([d.desired, d.missing]).toEqual([2, 1]);
    // No instance answers at all: hold.
    const blind = policy(fleet(inst(undefined), inst(undefined)), 3);
    expect(blind.desired).toBe(3);
    expect(blind.reason).toContain('no ready instance');
  });

  it('counts instances whose stats timed out as loaded as those that answered when growing', () => {
    const { policy } = clocked({ targets: [{ signal: 'utilization', target: 0.5 }], maxReplicas: 20 });
    // Two saturated instances answer; two are so saturated their stats call timed out.
    const busy = () => inst({ utilization: 1 });
    const d = policy(fleet(busy(), busy(), inst(undefined), inst(undefined)), 4);
    expect([d.desired, d.direction, d.missing]).toEqual([8, 'up', 2]);
    expect(d.signals[0]?.note).toContain('2 missing at 1.00');
  });

  it('a fleet whose stats all time out grows to its last measured load, once, and never shrinks blind', () => {
    const { policy, clock } = clocked({ targets: [{ signal: 'utilization', target: 0.5 }], maxReplicas: 20 });
    const silent = (n: number) => fleet(...Array.from({ length: n }, () => inst(undefined)));
    const first = policy(
      fleet(inst({ utilization: 1 }), inst({ utilization: 1 }), inst(undefined), inst(undefined)),
      4,
    );
    expect(first.desired).toBe(8);
    policy.notApplied(first);
    // Next tick nobody answers: the load last measured (4 × 1.0) still needs 8.
    clock.t += 1_000;
    const blind = policy(silent(4), 4);
    expect([blind.desired, blind.direction]).toEqual([8, 'up']);
    expect(blind.reason).toContain('4 timed out, counted at the last measured load');
    // Grown to carry it, the fleet does not grow again on the same old measurement…
    clock.t += 20_000;
    expect(policy(silent(8), 8).desired).toBe(8);
    // …and once the measurement is too old, a blind fleet holds rather than shrinks.
    clock.t += 60_000;
    expect(policy(silent(8), 8)).toMatchObject({ desired: 8, direction: 'none' });
  });

  it('ignores instances that are DOWN or OUT_OF_SERVICE', () => {
    const { policy } = clocked({ targets: [{ signal: 'inflight', target: 4 }], maxReplicas: 20, ...quick });
    const d = policy(fleet(inst({ inflight: 8 }), inst({ inflight: 100 }, 'OUT_OF_SERVICE')), 1);
    expect(d.desired).toBe(2);
  });

  it('clamps to minReplicas and maxReplicas and says so', () => {
    const { policy } = clocked({
      targets: [{ signal: 'inflight', target: 1 }],
      minReplicas: 2,
      maxReplicas: 5,
      ...quick,
    });
    const high = policy(inflight(50, 50), 4);
    expect(high.desired).toBe(5);
    expect(high.limits).toContain('maxReplicas 5');
    const low = policy(inflight(0, 0, 0), 3);
    expect(low.desired).toBe(2);
    expect(low.limits).toContain('minReplicas 2');
  });
});

describe('targetTracking: stabilization windows (fake clock)', () => {
  it('scales in only to the highest recommendation of the scale-down window', () => {
    const { policy, clock } = clocked({
      targets: [{ signal: 'inflight', target: 4 }],
      maxReplicas: 20,
      scaleDown: { stabilizationMs: 60_000 },
    });
    expect(policy(inflight(4, 4, 4, 4), 4).desired).toBe(4);
    clock.t += 10_000;
    const dip = policy(inflight(1, 1, 1, 1), 4);
    expect(dip.desired).toBe(4);
    expect(dip.limits[0]).toContain('stabilization');
    clock.t += 20_000;
    expect(policy(inflight(2, 2, 2, 2), 4).desired).toBe(4);
    // 60 s after the last recommendation of 4, the highest left in the window is 2.
    clock.t += 30_001;
    expect(policy(inflight(1, 1, 1, 1), 4).desired).toBe(2);
  });

  it('scales out only to the lowest recommendation of the scale-up window, ignoring a spike', () => {
    const { policy, clock } = clocked({
      targets: [{ signal: 'inflight', target: 4 }],
      maxReplicas: 20,
      scaleUp: { stabilizationMs: 5_000, steps: [] },
    });
    expect(policy(inflight(4, 4), 2).desired).toBe(2);
    clock.t += 1_000;
    expect(policy(inflight(16, 16), 2).desired).toBe(2); // spike
    clock.t += 1_000;
    expect(policy(inflight(4, 4), 2).desired).toBe(2);
    clock.t += 1_000;
    expect(policy(inflight(12, 12), 2).desired).toBe(2);
    clock.t += 4_000; // only the 12s (→ 6) and this tick (→ 8) are left in the window
    expect(policy(inflight(16, 16), 2).desired).toBe(6);
  });
});

describe('targetTracking: step limits (fake clock)', () => {
  it('adds at most N instances per period, counting what the period already added', () => {
    const { policy, clock } = clocked({
      targets: [{ signal: 'inflight', target: 1 }],
      maxReplicas: 50,
      scaleUp: { steps: [{ pods: 2, periodMs: 10_000 }] },
    });
    const first = policy(inflight(10, 10), 2);
    expect(first.desired).toBe(4);
    expect(first.limits).toContain('scale-up step limit 4');
    clock.t += 1_000;
    expect(policy(inflight(10, 10, 0, 0), 4).desired).toBe(4); // the period's 2 are used up
    clock.t += 9_500;
    expect(policy(inflight(10, 10, 0, 0), 4).desired).toBe(6);
  });

  it('a tick after a failed scaleTo never reverses direction', () => {
    const { policy, clock } = clocked({ targets: [{ signal: 'inflight', target: 4 }], maxReplicas: 50 });
    const overloaded = () => fleet(...Array.from({ length: 10 }, () => inst({ inflight: 20 })));
    expect(policy(overloaded(), 10).desired).toBe(20);
    // The scale failed (or someone set the count back): still 10, still 5× over target.
    clock.t += 1_000;
    const next = policy(overloaded(), 10);
    expect(next.direction).not.toBe('down');
    expect(next.desired).toBeGreaterThanOrEqual(10);
  });

  it('with several limits, select max allows the most change and select min the least', () => {
    const steps = [
      { pods: 1, periodMs: 10_000 },
      { percent: 100, periodMs: 10_000 },
    ];
    const most = clocked({
      targets: [{ signal: 'inflight', target: 1 }],
      maxReplicas: 50,
      scaleUp: { steps },
    });
    expect(most.policy(inflight(20, 20, 20), 3).desired).toBe(6);
    const least = clocked({
      targets: [{ signal: 'inflight', target: 1 }],
      maxReplicas: 50,
      scaleUp: { steps, select: 'min' },
    });
    expect(least.policy(inflight(20, 20, 20), 3).desired).toBe(4);
    const off = clocked({
      targets: [{ signal: 'inflight', target: 1 }],
      maxReplicas: 50,
      scaleUp: { select: 'disabled' },
    });
    expect(off.policy(inflight(20, 20, 20), 3).desired).toBe(3);
  });

  it('removes at most a percentage per period when scaling in', () => {
    const { policy, clock } = clocked({
      targets: [{ signal: 'inflight', target: 4 }],
      maxReplicas: 50,
      scaleDown: { stabilizationMs: 0, steps: [{ percent: 50, periodMs: 10_000 }] },
    });
    expect(policy(inflight(0, 0, 0, 0, 0, 0, 0, 0), 8).desired).toBe(4);
    clock.t += 1_000;
    expect(policy(inflight(0, 0, 0, 0), 4).desired).toBe(4); // period starts at 8: floor 4
    clock.t += 10_000;
    expect(policy(inflight(0, 0, 0, 0), 4).desired).toBe(2);
  });
});

describe('scale-in order', () => {
  it('puts starting and silent instances first, then the least loaded, newest first on ties', () => {
    const { policy } = clocked({ targets: [{ signal: 'inflight', target: 4 }], maxReplicas: 9, ...quick });
    const busy = inst({ inflight: 3 }, 'UP', 1);
    const idleOld = inst({ inflight: 0 }, 'UP', 1);
    const idleNew = inst({ inflight: 0 }, 'UP', 2);
    const silent = inst(undefined, 'UP', 1);
    const d = policy(fleet(busy, idleOld, silent, idleNew), 4);
    expect(d.direction).toBe('down');
    expect(d.scaleInOrder).toEqual([silent.id, idleNew.id, idleOld.id, busy.id]);
  });
});
