import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../registry.case.js';
import { type RunningRegistry, startRegistry } from './server.js';
import { sseParser } from './sse.js';

let server: RunningRegistry;
beforeAll(async () => {
  server = await startRegistry({ maxBodyBytes: 1024, warmupMs: 0, maxSubscribers: 2 });
});
afterAll(async () => server.close());

const call = async (method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
  const res = await fetch(server.url + path, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
};
const eurekaBody = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    instance: {
      instanceId: 'e1',
      hostName: 'host-a',
      app: 'ORDERS',
      ipAddr: '10.1.2.3',
      status: 'UP',
      port: { $: 8080, '@enabled': 'true' },
      vipAddress: 'orders',
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      metadata: { zone: 'eu-1' },
      ...over,
    },
  });

describe('Tensile API input validation', () => {
  it('rejects malformed JSON, missing fields and bad values with 400 and a message', async () => {
    const bad = await call('POST', '/v1/services/s/instances', '{"address":');
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/malformed JSON/);
    expect((await call('POST', '/v1/services/s/instances', '{}')).json.error.message).toMatch(/"address"/);
    expect((await call('POST', '/v1/services/s/instances', '[1]')).status).toBe(400);
    const addr = await call('POST', '/v1/services/s/instances', '{"address":"nohostport"}');
    expect(addr.json.error.message).toMatch(/host:port/);
    const status = await call('POST', '/v1/services/s/instances', '{"address":"h:1","status":"ZOMBIE"}');
    expect(status.json.error.message).toMatch(/must be one of/);
    const meta = await call('POST', '/v1/services/s/instances', '{"address":"h:1","metadata":{"n":1}}');
    expect(meta.status).toBe(400);
    expect(
      (await call('POST', '/v1/services/s/instances', 'x', { 'content-type': 'text/plain' })).status,
    ).toBe(415);
  });

  it('answers 413 to a declared or streamed body over the limit, without reading it all', async () => {
    const declared = await call(
      'POST',
      '/v1/services/s/instances',
      JSON.stringify({ address: 'h:1', pad: 'x'.repeat(5000) }),
    );
    expect(declared.status).toBe(413);
    expect(declared.json.error.message).toMatch(/exceeds 1024 bytes/);
    // Chunked: no Content-Length, so the server must count; it answers after ~1 KiB of 1 MiB.
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${server.url}/v1/services/s/instances`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      const chunk = 'x'.repeat(512);
      let sent = 0;
      const pump = () => {
        while (sent < 2048 && req.write(chunk)) sent++;
        if (sent < 2048 && !req.destroyed) req.once('drain', pump);
      };
      pump();
    });
    expect(streamed.status).toBe(413);
    expect(streamed.body).toMatch(/exceeds/);
  });

  it('answers 404 for unknown routes and instances, 405 with Allow for wrong methods', async () => {
    expect((await call('GET', '/nope')).status).toBe(404);
    expect((await call('PUT', '/v1/services/s/instances/ghost/renew')).status).toBe(404);
    const wrong = await call('PATCH', '/v1/services');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
    expect((await call('DELETE', '/eureka/apps')).status).toBe(405);
  });

  it('refuses watch streams beyond maxSubscribers with 503', async () => {
    const ctrl = new AbortController();
    const open = () => fetch(`${server.url}/v1/watch?service=x`, { signal: ctrl.signal });
    const [a, b] = [await open(), await open()];
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((await fetch(`${server.url}/v1/watch?service=x`)).status).toBe(503);
    ctrl.abort();
    expect((await fetch(`${server.url}/v1/watch`)).status).toBe(400);
  });
});

describe('push over server-sent events', () => {
  it('sends the current set, then every change with an epoch:version id', async () => {
    const ctrl = new AbortController();
    const res = await fetch(`${server.url}/v1/watch?service=push`, { signal: ctrl.signal });
    const events: { id?: string; data: any }[] = [];
    const parse = sseParser((e) => events.push({ ...(e.id ? { id: e.id } : {}), data: JSON.parse(e.data) }));
    void (async () => {
      const decoder = new TextDecoder();
      const reader = res.body!.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        parse(decoder.decode(r.value, { stream: true }));
      }
    })().catch(() => {});
    await waitFor(() => events.length === 1, 5000);
    expect(events[0]!.data.instances).toEqual([]);
    await call('POST', '/v1/services/push/instances', '{"address":"127.0.0.1:1","id":"p"}');
    await waitFor(() => events.at(-1)?.data.instances.length === 1, 5000);
    await call('PUT', '/v1/services/push/instances/p/status', '{"status":"DOWN"}');
    await waitFor(() => events.at(-1)?.data.instances[0]?.status === 'DOWN', 5000);
    await call('DELETE', '/v1/services/push/instances/p');
    await waitFor(() => events.at(-1)?.data.instances.length === 0, 5000);
    const versions = events.map((e) => Number(e.id!.split(':')[1]));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(events.every((e) => e.id!.startsWith(`${server.store.epoch}:`))).toBe(true);
    ctrl.abort();
  });
});

describe('Eureka REST API', () => {
  it('registers, lists with Eureka JSON shapes, renews, overrides status and cancels', async () => {
    expect((await call('POST', '/eureka/apps/ORDERS', eurekaBody())).status).toBe(204);
    const all = await call('GET', '/eureka/apps/');
    const apps = all.json.applications;
    expect(apps.apps__hashcode).toBe('UP_1_');
    expect(Number(apps.versions__delta)).toBeGreaterThan(0);
    const inst = apps.application.find((a: any) => a.name === 'ORDERS').instance[0];
    expect(inst).toMatchObject({
      instanceId: 'e1',
      hostName: 'host-a',
      app: 'ORDERS',
      ipAddr: '10.1.2.3',
      status: 'UP',
      overriddenStatus: 'UNKNOWN',
      port: { $: 8080, '@enabled': 'true' },
      metadata: { zone: 'eu-1' },
      leaseInfo: { durationInSecs: 10, renewalIntervalInSecs: 3 },
    });
    expect((await call('GET', '/v1/services/ORDERS')).json.instances[0]).toMatchObject({
      id: 'e1',
      address: '10.1.2.3:8080',
      zone: 'eu-1',
    });
    expect((await call('PUT', '/eureka/apps/orders/e1')).status).toBe(200);
    expect((await call('PUT', '/eureka/apps/ORDERS/e1/status?value=OUT_OF_SERVICE')).status).toBe(200);
    const one = await call('GET', '/eureka/v2/apps/ORDERS');
    expect(one.json.application.instance[0]).toMatchObject({
      status: 'OUT_OF_SERVICE',
      overriddenStatus: 'OUT_OF_SERVICE',
    });
    // A re-registration claiming UP does not beat the operator's override.
    await call('POST', '/eureka/apps/ORDERS', eurekaBody());
    expect((await call('GET', '/eureka/apps/ORDERS/e1')).json.instance.status).toBe('OUT_OF_SERVICE');
    expect((await call('DELETE', '/eureka/apps/ORDERS/e1/status')).status).toBe(200);
    expect((await call('GET', '/eureka/apps/ORDERS/e1')).json.instance.status).toBe('UP');
    const delta = await call('GET', '/eureka/apps/delta');
    const actions = delta.json.applications.application[0].instance.map((i: any) => i.actionType);
    expect(actions).toEqual(['MODIFIED']);
    expect((await call('DELETE', '/eureka/apps/ORDERS/e1')).status).toBe(200);
    expect((await call('GET', '/eureka/apps/ORDERS')).status).toBe(404);
    expect((await call('PUT', '/eureka/apps/ORDERS/e1')).status).toBe(404);
    const gone = await call('GET', '/eureka/apps/delta');
    expect(gone.json.applications.application[0].instance[0].actionType).toBe('DELETED');
  });

  it('validates Eureka bodies', async () => {
    const noHost = await call('POST', '/eureka/apps/ORDERS', eurekaBody({ hostName: undefined }));
    expect(noHost.json.error.message).toMatch(/instance.hostName/);
    expect((await call('POST', '/eureka/apps/ORDERS', eurekaBody({ app: 'OTHER' }))).status).toBe(400);
    expect((await call('POST', '/eureka/apps/ORDERS', eurekaBody({ port: { $: 'x' } }))).status).toBe(400);
    expect((await call('POST', '/eureka/apps/ORDERS', eurekaBody({ dataCenterInfo: {} }))).status).toBe(400);
    expect((await call('POST', '/eureka/apps/ORDERS', '{"nope":1}')).status).toBe(400);
    await call('POST', '/eureka/apps/ORDERS', eurekaBody());
    expect((await call('PUT', '/eureka/apps/ORDERS/e1/status?value=SLEEPY')).status).toBe(400);
    const badIp = await call('POST', '/eureka/apps/ORDERS', eurekaBody({ ipAddr: 'not an ip' }));
    expect([badIp.status, badIp.json.error.message]).toEqual([400, expect.stringMatching(/ipAddr/)]);
  });

  it('takes IPv6 addresses and gives them back unbracketed', async () => {
    const body = eurekaBody({ instanceId: 'v6', ipAddr: 'fd00::7' });
    expect((await call('POST', '/eureka/apps/ORDERS', body)).status).toBe(204);
    const seen = (await call('GET', '/v1/services/ORDERS')).json.instances;
    expect(seen.find((i: { id: string }) => i.id === 'v6').address).toBe('[fd00::7]:8080');
    const view = (await call('GET', '/eureka/apps/ORDERS/v6')).json.instance;
    expect(view).toMatchObject({ ipAddr: 'fd00::7', port: { $: 8080 } });
    await call('DELETE', '/eureka/apps/ORDERS/v6');
    // And the synthesized Eureka view of a Tensile registration.
    await call('POST', '/v1/services/ORDERS/instances', '{"address":"[::1]:7000","id":"t6"}');
    expect((await call('GET', '/eureka/apps/ORDERS/t6')).json.instance).toMatchObject({
      ipAddr: '::1',
      port: { $: 7000 },
      homePageUrl: 'http://[::1]:7000/',
    });
    await call('DELETE', '/v1/services/ORDERS/instances/t6');
  });
});
