import { afterEach, describe, expect, it } from 'vitest';
import { memoryRegistry } from '../registry/memory.js';
import type { Registry } from '../registry/registry.js';
import { createServer, type Server } from '../server/server.js';
import { type Autoscaler, type AutoscalerError, createAutoscaler } from './autoscaler.js';
import type { InstanceSignals } from './fleet.js';
import { autoscalerMetrics } from './metrics.js';
import { type ScaleDecision, targetTracking } from './policy.js';
import type { ScaleOptions, Scaler } from './scaler.js';
import { createLoadTracker, type LoadSnapshot, StatsService, statsHandlers } from './signals.js';

function fakeScaler(start: number) {
  const calls: [number, ScaleOptions | undefined][] = [];
  let n = start;
  const scaler: Scaler = {
    replicas: async () => n,
    scaleTo: async (to, options) => {
      calls.push([to, options]);
      n = to;
    },
  };
  return { scaler, calls };
}

const snapshot = (inflight: number): LoadSnapshot => ({
  at: 0,
  uptimeMs: 60_000,
  windowMs: 10_000,
  inflight,
  concurrency: inflight,
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
});

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function registryWith(n: number): Promise<Registry> {
  const registry = memoryRegistry();
  cleanup.push(() => registry.close());
  for (let i = 0; i < n; i++) await registry.register({ service: 'svc', address: `127.0.0.1:${2000 + i}` });
  return registry;
}

function track(a: Autoscaler) {
  cleanup.push(() => a.stop());
  const decisions: ScaleDecision[] = [];
  const errors: AutoscalerError[] = [];
  a.onDecision((d) => decisions.push(d));
  a.onError((e) => errors.push(e));
  return { decisions, errors };
}

describe('autoscaler', () => {
  it('reads the fleet, applies the policy and tells the scaler, with the scale-in order', async () => {
    const registry = await registryWith(3);
    const { scaler, calls } = fakeScaler(3);
    let load = [12, 12, 12];
    const clock = { t: 5_000_000 };
    const autoscaler = createAutoscaler({
      service: 'svc',
      registry,
      scaler,
      now: () => clock.t,
      policy: targetTracking({
        targets: [{ signal: 'inflight', target: 4 }],
        maxReplicas: 10,
        scaleDown: { stabilizationMs: 30_000 },
        now: () => clock.t,
      }),
      readSignals: async (instances): Promise<InstanceSignals[]> =>
        instances.map((i, k) => ({ ...i, snapshot: snapshot(load[k] ?? 0) })),
    });
    const { decisions } = track(autoscaler);
    await expect.poll(async () => (await autoscaler.tick())?.ready).toBe(3);
    // 36 calls / 4 = 9 wanted; the default step limit (+4 or +100 % per 15 s) allows 7.
    expect(calls.at(-1)?.[0]).toBe(7);
    expect(autoscaler.desired).toBe(7);
    expect(decisions.at(-1)?.reason).toContain('3 → 7');
    expect(decisions.at(-1)?.limits).toEqual(['scale-up step limit 7']);
    expect(autoscalerMetrics([autoscaler])).toContain('tensile_autoscaler_desired_replicas{service="svc"} 7');

    // Load gone: the scale-down window holds the fleet until its 30 s have passed.
    load = [0, 0, 0];
    clock.t += 10_000;
    expect((await autoscaler.tick())?.desired).toBe(7);
    clock.t += 30_000;
    const down = await autoscaler.tick();
    expect(down?.desired).toBe(1);
    expect(calls.at(-1)?.[0]).toBe(1);
    expect(calls.at(-1)?.[1]?.prefer).toHaveLength(3);
  });

  it('accepts a policy returning a plain number', async () => {
    const registry = await registryWith(1);
    const { scaler, calls } = fakeScaler(1);
    const autoscaler = createAutoscaler({
      service: 'svc',
      registry,
      scaler,
      policy: (_signals, current) => current + 1,
      readSignals: async () => [],
    });
    const d = await autoscaler.tick();
    expect(d).toMatchObject({ current: 1, desired: 2, direction: 'up' });
    expect(calls).toEqual([[2, { prefer: [] }]]);
  });

  it('reports failures of each stage as events and keeps going', async () => {
    const registry = await registryWith(1);
    let broken = true;
    const autoscaler = createAutoscaler({
      service: 'svc',
      registry,
      scaler: {
        replicas: async () => {
          if (broken) throw new Error('api down');
          return 1;
        },
        scaleTo: async () => {
          throw new Error('forbidden');
        },
      },
      policy: () => 2,
      readSignals: async () => [],
    });
    const { decisions, errors } = track(autoscaler);
    expect(await autoscaler.tick()).toBeUndefined();
    broken = false;
    expect((await autoscaler.tick())?.desired).toBe(2);
    expect(errors.map((e) => e.stage)).toEqual(['replicas', 'scale']);
    expect(decisions).toHaveLength(1);
  });

  it('a tick after a failed scaleTo never reverses direction, and retries with the whole step', async () => {
    const registry = await registryWith(10);
    const clock = { t: 5_000_000 };
    const asked: number[] = [];
    let failing = true;
    const autoscaler = createAutoscaler({
      service: 'svc',
      registry,
      // The count stays 10 while writes fail.
      scaler: {
        replicas: async () => 10,
        scaleTo: async (n) => {
          asked.push(n);
          if (failing) throw new Error('conflict');
        },
      },
      now: () => clock.t,
      policy: targetTracking({
        targets: [{ signal: 'inflight', target: 4 }],
        maxReplicas: 50,
        now: () => clock.t,
      }),
      readSignals: async (instances) => instances.map((i) => ({ ...i, snapshot: snapshot(20) })),
    });
    const { errors } = track(autoscaler);
    await expect.poll(async () => (await autoscaler.tick())?.ready).toBe(10);
    failing = false;
    clock.t += 1_000;
    const retry = await autoscaler.tick();
    expect(errors.map((e) => e.stage)).toEqual(['scale']);
    // 5× over target: +100 % allowed; the failed write did not use up the period's budget.
    expect(asked).toEqual([20, 20]);
    expect(retry).toMatchObject({ current: 10, desired: 20, direction: 'up' });
  });

  it('runs on its interval until stopped', async () => {
    const registry = await registryWith(1);
    const { scaler } = fakeScaler(1);
    const autoscaler = createAutoscaler({
      service: 'svc',
      registry,
      scaler,
      intervalMs: 5,
      policy: (_s, c) => c,
      readSignals: async () => [],
    });
    const { decisions } = track(autoscaler);
    autoscaler.start();
    expect(autoscaler.running).toBe(true);
    await expect.poll(() => decisions.length).toBeGreaterThanOrEqual(3);
    await autoscaler.stop();
    const seen = decisions.length;
    await new Promise((r) => setTimeout(r, 30));
    expect(decisions.length).toBe(seen);
  });

  it('reads tensile.stats from real servers by default', async () => {
    const registry = memoryRegistry();
    cleanup.push(() => registry.close());
    const servers: Server[] = [];
    for (let i = 0; i < 2; i++) {
      const tracker = createLoadTracker();
      const server = createServer({ filters: [tracker.filter] }).implement(
        StatsService,
        statsHandlers(tracker),
      );
      servers.push(server);
      cleanup.push(async () => {
        tracker.close();
        await server.close({ graceMs: 100 });
      });
      const { address } = await server.listen();
      await registry.register({ service: 'svc', address });
    }
    const { scaler } = fakeScaler(2);
    const autoscaler = createAutoscaler({
      service: 'svc',
      registry,
      scaler,
      policy: targetTracking({
        targets: [{ signal: 'inflight', target: 4 }],
        minReplicas: 2,
        maxReplicas: 4,
      }),
    });
    track(autoscaler);
    await expect.poll(async () => (await autoscaler.tick())?.ready).toBe(2);
    expect(autoscaler.lastDecision?.signals[0]?.average).toBe(0);
  });
});
