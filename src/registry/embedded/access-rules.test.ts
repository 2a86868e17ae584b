import { afterEach, describe, expect, it } from 'vitest';
import type { RegistryAccess } from './access.js';
import { HttpError } from './http-util.js';
import { type RunningRegistry, type StartRegistryOptions, startRegistry } from './server.js';

const running: RunningRegistry[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});
async function start(options: StartRegistryOptions) {
  const r = await startRegistry({ warmupMs: 0, dashboard: false, ...options });
  running.push(r);
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(r.url + path, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = res.headers.get('content-type')?.startsWith('text/event-stream') ? '' : await res.text();
    if (!text) await res.body?.cancel();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  return { r, call };
}
const tokens = { 'ci-token': 'ci', 'other-token': 'other' };
const eureka = (app: string, id: string) => ({
  instance: {
    instanceId: id,
    hostName: 'h',
    app,
    ipAddr: '10.0.0.1',
    port: { $: 80, '@enabled': 'true' },
    dataCenterInfo: { name: 'MyOwn' },
  },
});

describe('registry authorization per service', () => {
  it('a rule on the service name holds under every spelling of the path', async () => {
    const seen: RegistryAccess[] = [];
    const { r, call } = await start({
      auth: {
        tokens,
        protectReads: true,
        // Written the way an operator would: exact names, no path parsing.
        authorize: (p, a) => {
          seen.push(a);
          return a.service !== 'orders' || p.id === 'ci' || 'orders belongs to ci';
        },
      },
    });
    expect(
      (await call('POST', '/v1/services/orders/instances', 'ci-token', { address: 'h:1', id: 'a1' })).status,
    ).toBe(201);
    const refused = [
      ['POST', '/v1/services/%6Frders/instances', { address: 'h:2', id: 'a1' }],
      ['POST', '/v1/services/orders/instances/', { address: 'h:2', id: 'a1' }],
      ['PUT', '/v1/services/%6frders/instances/a1/status/', { status: 'DOWN' }],
      ['DELETE', '/v1/services/orders/instances/a%31/'],
      ['PUT', '/v1/services/orders/instances/a1/renew/'],
      ['POST', '/eureka/apps/ORDERS', eureka('ORDERS', 'a1')],
      ['PUT', '/eureka/apps/Orders/a1/status?value=OUT_OF_SERVICE'],
      ['DELETE', '/eureka/v2/apps/orders/a1/'],
      ['DELETE', '/eureka/apps/ORDERS/a1/status'],
      ['GET', '/v1/services/%6Frders'],
      ['GET', '/v1/services/orders/instances/a1/'],
      ['GET', '/v1/watch?service=%6Frders'],
      ['GET', '/eureka/apps/ORDERS'],
      ['GET', '/eureka/v2/apps/orders/a1'],
      ['GET', '/eureka/instances/a1'],
    ] as const;
    for (const [method, path, body] of refused) {
      const reply = await call(method, path, 'other-token', body);
      expect({ method, path, status: reply.status }).toEqual({ method, path, status: 403 });
      expect(reply.json.error.message).toMatch(/orders belongs to ci/);
    }
    expect(r.store.list('orders')).toMatchObject([{ id: 'a1', address: 'h:1', status: 'UP' }]);
    expect(r.store.services()).toEqual(['orders']);
    // Other services stay open to the other principal, under any spelling.
    expect(
      (await call('POST', '/v1/services/%62illing/instances/', 'other-token', { address: 'h:3' })).status,
    ).toBe(201);
    expect((await call('POST', '/eureka/apps/PAY', 'other-token', eureka('PAY', 'p1'))).status).toBe(204);
    // The hook got decoded names and the operation.
    seen.length = 0;
    await call('PUT', '/v1/services/%6Frders/instances/a%31/status/', 'other-token', { status: 'DOWN' });
    expect(seen).toEqual([
      {
        operation: 'status',
        action: 'write',
        service: 'orders',
        instanceId: 'a1',
        method: 'PUT',
        path: '/v1/services/%6Frders/instances/a%31/status/',
      },
    ]);
    seen.length = 0;
    await call('GET', '/v1/services', 'other-token');
    expect(seen).toMatchObject([{ operation: 'list', action: 'read' }]);
    expect(seen[0]!.service).toBeUndefined();
  });
});

describe('/v1/health with access control', () => {
  it('with protectReads, anonymous probes learn "up" only; readers get the full body', async () => {
    const { call } = await start({
      auth: { tokens, protectReads: true, authorize: (p) => p.id === 'ci' || 'not ci' },
    });
    expect(await call('GET', '/v1/health')).toEqual({ status: 200, json: { status: 'UP' } });
    // A bad credential or a principal refused by authorize() is treated as anonymous, not refused.
    expect(await call('GET', '/v1/health', 'nope')).toEqual({ status: 200, json: { status: 'UP' } });
    expect(await call('GET', '/v1/health/', 'other-token')).toEqual({ status: 200, json: { status: 'UP' } });
    const full = await call('GET', '/v1/health', 'ci-token');
    expect(full.json).toMatchObject({ status: 'UP', instances: 0, subscribers: 0 });
    expect(full.json.memory.heapUsedBytes).toBeGreaterThan(0);
  });

  it('without protectReads (reads are open anyway) everyone gets the full body', async () => {
    const { call } = await start({ auth: { tokens } });
    expect((await call('GET', '/v1/health')).json).toMatchObject({ status: 'UP', instances: 0 });
  });
});

describe('token verifiers', () => {
  it("a verifier's HttpError is answered as thrown; any other failure is a 401 that hides it", async () => {
    const { call } = await start({
      auth: {
        verify: (token) => {
          if (token === 'revoked') throw new HttpError(403, 'token was revoked');
          throw new Error('introspection endpoint at 10.0.0.9 is down');
        },
      },
    });
    const body = { address: 'h:1' };
    expect(await call('POST', '/v1/services/s/instances', 'revoked', body)).toEqual({
      status: 403,
      json: { error: { status: 403, message: 'token was revoked' } },
    });
    expect(await call('POST', '/v1/services/s/instances', 'other', body)).toEqual({
      status: 401,
      json: { error: { status: 401, message: 'bearer token could not be verified' } },
    });
  });
});
