import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eurekaRegistry } from '../eureka.js';
import type { Instance } from '../instance.js';
import { record, waitFor } from '../registry.case.js';
import type { Registry } from '../registry.js';
import { embeddedRegistry } from './client.js';
import { type RunningRegistry, startRegistry } from './server.js';

// eureka-js-client ships no types; it is exercised exactly as an application would use it.
const { Eureka } = createRequire(import.meta.url)('eureka-js-client');
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe('interoperability with eureka-js-client', () => {
  let server: RunningRegistry;
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeEach(async () => {
    server = await startRegistry({ leaseTtlMs: 3000, renewIntervalMs: 1000, warmupMs: 0 });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
    await server.close();
  });

  const eurekaJs = (app: string, port: number, register = true) => {
    const client = new Eureka({
      logger: quiet,
      instance: {
        app,
        instanceId: `${app}-${port}`,
        hostName: 'localhost',
        ipAddr: '127.0.0.1',
        port: { $: port, '@enabled': true },
        vipAddress: app,
        statusPageUrl: `http://localhost:${port}/info`,
        metadata: { version: '7' },
        dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$MyDataCenterInfo', name: 'MyOwn' },
      },
      eureka: {
        host: '127.0.0.1',
        port: server.port,
        servicePath: '/eureka/apps/',
        heartbeatInterval: 200,
        registryFetchInterval: 100,
        maxRetries: 0,
        registerWithEureka: register,
      },
    });
    return client;
  };
  const start = (client: any) =>
    new Promise<void>((resolve, reject) => client.start((err: unknown) => (err ? reject(err) : resolve())));
  const stop = (client: any) => new Promise<void>((resolve) => client.stop(() => resolve()));
  const track = (r: Registry) => {
    cleanups.push(() => r.close());
    return r;
  };

  it('an eureka-js-client instance is seen by Tensile clients, and its cancel too', async () => {
    const legacy = eurekaJs('legacy-svc', 9001);
    await start(legacy);
    cleanups.push(() => stop(legacy));
    const viaSse = track(embeddedRegistry({ url: server.url }));
    const viaEureka = track(eurekaRegistry({ serviceUrl: `${server.url}/eureka`, pollIntervalMs: 100 }));
    const rec = record(viaSse, 'legacy-svc');
    cleanups.push(async () => rec.dispose());
    const [seen] = await rec.until((s) => s.length === 1, 5000);
    expect(seen).toMatchObject<Partial<Instance>>({
      id: 'legacy-svc-9001',
      service: 'legacy-svc',
      address: '127.0.0.1:9001',
      status: 'UP',
      weight: 1,
      metadata: { version: '7' },
    });
    const [polled] = await viaEureka.instances('legacy-svc');
    expect(polled).toMatchObject({ id: 'legacy-svc-9001', address: '127.0.0.1:9001', status: 'UP' });
    // Heartbeats keep it alive past its TTL.
    await new Promise((r) => setTimeout(r, 3500));
    expect((await viaSse.instances('legacy-svc')).map((i) => i.id)).toEqual(['legacy-svc-9001']);
    await stop(legacy);
    await rec.until((s) => s.length === 0, 5000, 'cancel by eureka-js-client');
  }, 20_000);

  it('Tensile instances (embedded and Eureka backends) are seen by eureka-js-client', async () => {
    const embedded = track(embeddedRegistry({ url: server.url }));
    const viaEureka = track(eurekaRegistry({ serviceUrl: `${server.url}/eureka` }));
    await embedded.register({
      service: 'greeter',
      address: '127.0.0.1:7101',
      id: 'g1',
      metadata: { v: '2' },
    });
    const b = await viaEureka.register({
      service: 'greeter',
      address: '127.0.0.1:7102',
      id: 'g2',
      weight: 4,
    });
    const reader = eurekaJs('reader', 9002, false);
    await start(reader);
    cleanups.push(() => stop(reader));
    const found = await waitFor(() => {
      const list = reader.getInstancesByAppId('greeter');
      return list.length === 2 ? list : undefined;
    }, 5000);
    const byId = Object.fromEntries(found.map((i: any) => [i.instanceId, i]));
    expect(byId.g1).toMatchObject({ app: 'GREETER', ipAddr: '127.0.0.1', status: 'UP', port: { $: 7101 } });
    expect(byId.g1.metadata.v).toBe('2');
    expect(byId.g2.metadata['tensile.weight']).toBe('4');
    expect(reader.getInstancesByVipAddress('greeter')).toHaveLength(2);
    // A Tensile status change takes the instance out of eureka-js-client's UP-only view.
    await b.setStatus('OUT_OF_SERVICE');
    await waitFor(() => reader.getInstancesByAppId('greeter').length === 1, 5000, 'status filtering');
  }, 20_000);
});
