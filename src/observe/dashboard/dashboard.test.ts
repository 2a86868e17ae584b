import { Script } from 'node:vm';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../../client/client.js';
import { embeddedRegistry } from '../../registry/embedded/client.js';
import { type RunningRegistry, startRegistry } from '../../registry/embedded/server.js';
import type { Registry as ServiceRegistry } from '../../registry/registry.js';
import { createAutoscaler } from '../../scale/autoscaler.js';
import { targetTracking } from '../../scale/policy.js';
import { DASHBOARD_JS } from './assets/js.js';
import { openStream, type SseStream, startInstance, type TestInstance, WorkService } from './test-fleet.js';

const cleanups: (() => unknown)[] = [];
const later = <T extends { close(): unknown }>(x: T): T => {
  cleanups.push(() => x.close());
  return x;
};
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const start = async (options: Parameters<typeof startRegistry>[0] = {}) =>
  later(await startRegistry({ dashboard: { pollIntervalMs: 200 }, ...options }));
const stream = async (registry: RunningRegistry): Promise<SseStream> =>
  later(await openStream(`${registry.url}/dashboard/events`));
const instance = async (registry: RunningRegistry, options = {}): Promise<TestInstance> =>
  later(await startInstance(registry.url, options));

describe('dashboard over HTTP', () => {
  it('serves the page, its script and styles from the registry, with a strict CSP', async () => {
    const registry = await start();
    const redirect = await fetch(`${registry.url}/dashboard`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([308, '/dashboard/']);
    const page = await fetch(`${registry.url}/dashboard/`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script src="app.js"');
    expect(html).not.toMatch(/https?:\/\//);
    const js = await fetch(`${registry.url}/dashboard/app.js`);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await js.text()).toBe(DASHBOARD_JS);
    expect(() => new Script(DASHBOARD_JS)).not.toThrow();
    const css = await fetch(`${registry.url}/dashboard/app.css`);
    expect([css.status, css.headers.get('content-type')]).toEqual([200, 'text/css; charset=utf-8']);
    const post = await fetch(`${registry.url}/dashboard/api/snapshot`, { method: 'POST' });
    expect(post.status).toBe(405);
    const head = await fetch(`${registry.url}/dashboard/events`, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-type')]).toEqual([200, 'text/event-stream']);
    expect(registry.dashboard!.viewers).toBe(0);
  });

  it('streams a snapshot first, then instances, stats and removals as they happen', async () => {
    const registry = await start();
    const live = await stream(registry);
    const snapshot = await live.next('snapshot');
    expect(live.events[0]?.event).toBe('snapshot');
    expect(snapshot).toMatchObject({ instances: [], events: [], pollIntervalMs: 200 });

    const a = await instance(registry, { zone: 'eu-1', weight: 2 });
    const added = await live.next('instance', (i) => i.id === a.id);
    expect(added).toMatchObject({ service: WorkService.name, address: a.address, zone: 'eu-1', weight: 2 });
    expect(await live.next('event', (e) => e.kind === 'register' && e.instance === a.id)).toBeTruthy();
    expect(live.events[0]?.event).toBe('snapshot');

    const client = later(createClient(WorkService, { addresses: [a.address] }));
    for (let i = 0; i < 20; i++) await client.work({});
    const stats = await live.next('stats', (s) => s.samples.some((x: any) => x.id === a.id && x.rate > 0));
    const sample = stats.samples.find((x: any) => x.id === a.id);
    expect(sample).toMatchObject({ service: WorkService.name, p99Ms: expect.any(Number) });
    expect(registry.dashboard!.state.seriesOf(WorkService.name, a.id).length).toBeGreaterThan(0);

    await a.registration.setStatus('OUT_OF_SERVICE');
    expect(await live.next('event', (e) => e.kind === 'status')).toMatchObject({
      text: 'UP → OUT_OF_SERVICE',
      instance: a.id,
    });
    await a.close();
    expect(await live.next('remove', (r) => r.id === a.id)).toEqual({
      service: WorkService.name,
      id: a.id,
      total: 0,
    });
    expect(await live.next('event', (e) => e.kind === 'deregister')).toMatchObject({ instance: a.id });
    const snap = await (await fetch(`${registry.url}/dashboard/api/snapshot`)).json();
    expect(snap.instances).toEqual([]);
    expect(snap.events.map((e: any) => e.kind)).toEqual(['register', 'status', 'deregister']);
  });

  it('skips instances that do not answer the stats method and keeps polling the others', async () => {
    const registry = await start();
    const live = await stream(registry);
    // A registered address where nothing listens: its reads fail, the live one's go on.
    registry.store.register({
      service: WorkService.name,
      id: 'ghost',
      address: '127.0.0.1:9',
      weight: 1,
      metadata: {},
      status: 'UP',
      registeredAt: Date.now(),
    });
    const a = await instance(registry);
    await live.next('stats', (s) => s.samples.some((x: any) => x.id === a.id));
    const next = await live.next('stats', (s) => s.samples.some((x: any) => x.id === a.id));
    expect(next.samples.map((x: any) => x.id)).toEqual([a.id]);
  });

  it("shows an attached autoscaler's decisions and a client's ejections", async () => {
    const registry = await start();
    const live = await stream(registry);
    const a = await instance(registry);
    const discovery: ServiceRegistry = later(embeddedRegistry({ url: registry.url }));
    let replicas = 1;
    const autoscaler = createAutoscaler({
      service: WorkService,
      registry: discovery,
      scaler: {
        replicas: async () => replicas,
        scaleTo: async (n) => {
          replicas = n;
        },
      },
      // Below its minimum of 2, the fleet of 1 is scaled up whatever the load.
      policy: targetTracking({
        targets: [{ signal: 'inflight', target: 2 }],
        minReplicas: 2,
        maxReplicas: 4,
      }),
    });
    cleanups.push(() => autoscaler.stop());
    const client = later(
      createClient(WorkService, {
        registry: discovery,
        policies: { retry: false, breaker: false, outlier: { consecutiveFailures: 2 } },
      }),
    );
    const attachment = registry.dashboard!.attach({ autoscaler, client });
    expect(await live.next('attached', (x) => x.autoscalers === 1 && x.clients === 1)).toBeTruthy();

    const decision = await autoscaler.tick();
    expect(decision?.direction).toBe('up');
    const point = await live.next('decision');
    expect(point).toMatchObject({ service: WorkService.name, current: 1, desired: 2, direction: 'up' });
    expect(point.reason).toBe(decision!.reason);
    expect(await live.next('event', (e) => e.kind === 'scale')).toMatchObject({ text: decision!.reason });

    for (let i = 0; i < 2; i++) await expect(client.work({ fail: true })).rejects.toThrow('asked to fail');
    expect(await live.next('event', (e) => e.kind === 'eject')).toMatchObject({
      service: WorkService.name,
      instance: a.id,
      text: expect.stringContaining('consecutive failures'),
    });
    const stats = await live.next('stats', (s) => s.endpoints.some((e: any) => e.ejected));
    expect(stats.endpoints).toEqual([
      expect.objectContaining({ service: WorkService.name, id: a.id, ejected: true, status: 'ejected' }),
    ]);

    attachment.dispose();
    expect(await live.next('attached', (x) => x.autoscalers === 0 && x.clients === 0)).toBeTruthy();
    const snap = registry.dashboard!.snapshot();
    expect(snap.timelines).toEqual([{ service: WorkService.name, points: [point] }]);
    await autoscaler.tick(); // detached: no longer recorded
    expect(registry.dashboard!.state.timelineOf(WorkService.name)).toEqual([point]);

    // Closing the registry detaches what is still attached.
    registry.dashboard!.attach({ autoscaler });
    expect(registry.dashboard!.snapshot().attached.autoscalers).toBe(1);
    await registry.close();
    expect(registry.dashboard!.snapshot().attached.autoscalers).toBe(0);
  });

  it('limits live streams', async () => {
    const registry = await start({ dashboard: { maxViewers: 1 } });
    const one = await stream(registry);
    await one.next('snapshot');
    const two = await fetch(`${registry.url}/dashboard/events`);
    expect(two.status).toBe(503);
    expect(await two.json()).toMatchObject({ error: { message: 'too many dashboard streams (1)' } });
  });

  it('can be turned off', async () => {
    const registry = await start({ dashboard: false });
    expect(registry.dashboard).toBeUndefined();
    expect((await fetch(`${registry.url}/dashboard/`)).status).toBe(404);
  });
});

describe('registry /metrics', () => {
  it('is off unless asked for', async () => {
    const registry = await start();
    expect(registry.metrics).toBeUndefined();
    expect((await fetch(`${registry.url}/metrics`)).status).toBe(404);
  });

  it('reports registry size, renewals and changes, plus the metrics of a Registry passed in', async () => {
    const mine = new Registry();
    new Counter({ name: 'app_things_total', help: 'Things.', registers: [mine] }).inc(3);
    const registry = await start({ metrics: { registry: mine } });
    expect(registry.metrics).toBe(mine);
    const a = await instance(registry);
    registry.store.renew(WorkService.name, a.id);
    registry.store.renew(WorkService.name, a.id);
    const res = await fetch(`${registry.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain(`tensile_registry_instances{service="${WorkService.name}",status="UP"} 1`);
    expect(text).toMatch(/tensile_registry_lease_renewals_total ([2-9]|\d\d+)/);
    expect(text).toContain(`tensile_registry_changes_total{service="${WorkService.name}",type="register"} 1`);
    expect(text).toContain('app_things_total 3');
    await a.close();
    const after = await (await fetch(`${registry.url}/metrics`)).text();
    expect(after).toContain(
      `tensile_registry_changes_total{service="${WorkService.name}",type="deregister"} 1`,
    );
    expect(after).not.toContain('tensile_registry_instances{');
  });
});
