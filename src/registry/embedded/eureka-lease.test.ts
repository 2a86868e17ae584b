import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeInstance } from '../instance.js';
import { type RunningRegistry, startRegistry } from './server.js';
import { RegistryStore } from './store.js';

const body = (id: string, leaseInfo?: Record<string, unknown>) =>
  JSON.stringify({
    instance: {
      instanceId: id,
      hostName: id,
      app: 'SPRING',
      ipAddr: '10.0.0.1',
      port: { $: 8080 },
      dataCenterInfo: { name: 'MyOwn' },
      ...(leaseInfo ? { leaseInfo } : {}),
    },
  });

describe('leases on the Eureka clients’ own terms', () => {
  let server: RunningRegistry;
  beforeAll(async () => {
    server = await startRegistry({
      leaseTtlMs: 400,
      renewIntervalMs: 100,
      evictionIntervalMs: 50,
      warmupMs: 0,
    });
  });
  afterAll(async () => server.close());
  const post = (b: string) =>
    fetch(`${server.url}/eureka/apps/SPRING`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: b,
    });
  const view = async (id: string) => {
    const res = await fetch(`${server.url}/eureka/apps/SPRING/${id}`, {
      headers: { accept: 'application/json' },
    });
    return res.status === 200 ? (await res.json()).instance : undefined;
  };

  it('a 30 s / 90 s registration outlives the server TTL without renewing; one without terms does not', async () => {
    expect((await post(body('spring', { renewalIntervalInSecs: 30, durationInSecs: 90 }))).status).toBe(204);
    expect((await post(body('plain'))).status).toBe(204);
    expect(
      (await post(body('greedy', { durationInSecs: 86_400, renewalIntervalInSecs: 0.001 }))).status,
    ).toBe(204);
    await new Promise((r) => setTimeout(r, 800)); // twice the server TTL, no heartbeats
    expect(await view('plain')).toBeUndefined();
    expect((await view('spring')).leaseInfo).toMatchObject({ durationInSecs: 90, renewalIntervalInSecs: 30 });
    // Clamped: at most 180 s, and never renewing faster than the server's interval.
    expect(server.store.get('SPRING', 'greedy')).toMatchObject({ ttlMs: 180_000, renewIntervalMs: 100 });
  });
});

describe('self-preservation with mixed renewal intervals', () => {
  it('a fleet heartbeating every 30 s on schedule does not look partitioned', () => {
    let t = 1_000_000;
    const store = new RegistryStore({ leaseTtlMs: 10_000, renewIntervalMs: 3_000, now: () => t });
    const n = 12;
    for (let i = 0; i < n; i++) {
      const inst = normalizeInstance({ service: 's', address: `10.0.0.${i}:80`, id: String(i) }, t);
      store.register(inst, {}, { ttlMs: 90_000, renewIntervalMs: 30_000 });
    }
    // Each renews every 30 s, the fleet's phases spread across the interval.
    for (let step = 1; step <= 240; step++) {
      t += 500;
      for (let i = 0; i < n; i++) if ((step * 500 + i * 2_500) % 30_000 === 0) store.renew('s', String(i));
      expect(store.evict()).toEqual([]);
    }
    expect(store.selfPreserving).toBe(false);
    expect(store.renewalRatio()).toBeGreaterThan(0.85);
  });
});
