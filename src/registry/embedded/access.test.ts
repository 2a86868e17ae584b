import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createTestPki } from '../../security/test-certs.js';
import type { ClientTlsOptions } from '../../security/tls-options.js';
import { eurekaRegistry } from '../eureka.js';
import { httpClient } from '../http-request.js';
import { record } from '../registry.case.js';
import type { Registry } from '../registry.js';
import { embeddedRegistry } from './client.js';
import { type RunningRegistry, type StartRegistryOptions, startRegistry } from './server.js';

const pki = createTestPki('deployer');
afterAll(() => pki.ca.dispose());
const running: RunningRegistry[] = [];
const clients: Registry[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close?.()));
  await Promise.all(running.splice(0).map((r) => r.close()));
});

async function start(options: StartRegistryOptions) {
  const r = await startRegistry({ warmupMs: 0, dashboard: false, ...options } as StartRegistryOptions);
  running.push(r);
  return r;
}
function raw(registry: RunningRegistry, tls?: ClientTlsOptions) {
  const http = httpClient({ timeoutMs: 5_000, ...(tls ? { tls } : {}) });
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    try {
      const res = await http.send(
        method,
        registry.url + path,
        { 'content-type': 'application/json', ...headers },
        body === undefined ? undefined : JSON.stringify(body),
      );
      return { status: res.status, json: res.text ? JSON.parse(res.text) : undefined };
    } finally {
      http.close();
    }
  };
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const instance = { address: '127.0.0.1:9001', id: 'a1' };
const tokens = { 'deploy-token': 'ci', 'reader-token': { id: 'dash', roles: ['read'] } };

describe('registry access control', () => {
  it('writes need a token (401 with a JSON message); reads stay open by default', async () => {
    const reg = await start({ auth: { tokens } });
    const call = raw(reg);
    const refused = await call('POST', '/v1/services/orders/instances', instance);
    expect(refused).toEqual({
      status: 401,
      json: { error: { status: 401, message: 'changing the registry needs a bearer token' } },
    });
    expect(
      (await call('POST', '/v1/services/orders/instances', instance, bearer('nope'))).json.error,
    ).toEqual({
      status: 401,
      message: 'invalid or expired bearer token',
    });
    expect(
      (await call('POST', '/v1/services/orders/instances', instance, { authorization: 'Basic eDp5' })).json
        .error.message,
    ).toMatch(/malformed Authorization header/);
    expect(
      (await call('POST', '/v1/services/orders/instances', instance, bearer('deploy-token'))).status,
    ).toBe(201);
    // renew, status and deregister are writes too.
    const path = '/v1/services/orders/instances/a1';
    expect((await call('PUT', `${path}/renew`)).status).toBe(401);
    expect((await call('PUT', `${path}/status`, { status: 'DOWN' })).status).toBe(401);
    expect((await call('DELETE', path)).status).toBe(401);
    expect((await call('GET', '/v1/services/orders')).json.instances).toHaveLength(1);
    expect((await call('PUT', `${path}/renew`, undefined, bearer('deploy-token'))).status).toBe(200);
    expect((await call('DELETE', path, undefined, bearer('deploy-token'))).status).toBe(204);
  });

  it('protectReads closes reads and watches but not /v1/health; authorize() gives 403', async () => {
    const reg = await start({
      auth: {
        tokens,
        protectReads: true,
        authorize: (p, a) => a.action === 'read' || !p.roles.includes('read') || 'read-only token',
      },
    });
    const call = raw(reg);
    expect(await call('GET', '/v1/services')).toMatchObject({
      status: 401,
      json: { error: { message: 'reading the registry needs a bearer token' } },
    });
    expect((await call('GET', '/v1/watch?service=x')).status).toBe(401);
    expect((await call('GET', '/eureka/apps')).status).toBe(401);
    expect((await call('GET', '/v1/health')).status).toBe(200);
    expect((await call('GET', '/v1/services', undefined, bearer('reader-token'))).status).toBe(200);
    const forbidden = await call('POST', '/v1/services/s/instances', instance, bearer('reader-token'));
    expect(forbidden).toEqual({
      status: 403,
      json: {
        error: { status: 403, message: 'dash may not POST /v1/services/s/instances: read-only token' },
      },
    });
  });

  it('guards the Eureka API the same way', async () => {
    const reg = await start({ auth: { tokens } });
    const call = raw(reg);
    const body = {
      instance: {
        instanceId: 'e1',
        hostName: 'h',
        app: 'ORDERS',
        ipAddr: '10.0.0.1',
        status: 'UP',
        port: { $: 80, '@enabled': 'true' },
        vipAddress: 'orders',
        dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      },
    };
    expect((await call('POST', '/eureka/apps/ORDERS', body)).status).toBe(401);
    expect((await call('DELETE', '/eureka/apps/ORDERS/e1')).status).toBe(401);
    expect((await call('POST', '/eureka/apps/ORDERS', body, bearer('deploy-token'))).status).toBe(204);
    expect((await call('GET', '/eureka/apps/ORDERS')).status).toBe(200);
  });

  it('the embedded client sends its (rotating) token: register, renew, status, watch, deregister', async () => {
    const reg = await start({
      auth: { tokens, protectReads: true },
      renewIntervalMs: 100,
      leaseTtlMs: 1_000,
    });
    let calls = 0;
    const client = embeddedRegistry({
      url: reg.url,
      token: () => {
        calls++;
        return 'deploy-token';
      },
    });
    clients.push(client);
    const watch = record(client, 'orders');
    const r = await client.register({ service: 'orders', ...instance });
    await watch.until((s) => s.length === 1, 5_000);
    await r.setStatus('OUT_OF_SERVICE');
    await watch.until((s) => s[0]?.status === 'OUT_OF_SERVICE', 5_000);
    const before = reg.store.renewals;
    await expect.poll(() => reg.store.renewals, { timeout: 5_000 }).toBeGreaterThan(before);
    await r.deregister();
    await watch.until((s) => s.length === 0, 5_000);
    watch.dispose();
    expect(calls).toBeGreaterThan(3);
    const anonymous = embeddedRegistry({ url: reg.url });
    clients.push(anonymous);
    await expect(anonymous.register({ service: 'orders', ...instance })).rejects.toThrow(
      /401: changing the registry needs a bearer token/,
    );
  });
});

describe('registry over TLS', () => {
  const tls = { key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert };

  it('serves https; clients trust the CA; a client certificate is a credential', async () => {
    const reg = await start({ tls, auth: { tokens } });
    expect(reg.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const withCert = embeddedRegistry({ url: reg.url, tls: { ca: pki.ca.cert, ...pki.client } });
    const withToken = embeddedRegistry({ url: reg.url, tls: { ca: pki.ca.cert }, token: 'deploy-token' });
    const anonymous = embeddedRegistry({ url: reg.url, tls: { ca: pki.ca.cert } });
    const untrusting = embeddedRegistry({ url: reg.url });
    clients.push(withCert, withToken, anonymous, untrusting);
    await withCert.register({ service: 'pay', address: '127.0.0.1:1', id: 'p1' });
    await withToken.register({ service: 'pay', address: '127.0.0.1:2', id: 'p2' });
    await expect(anonymous.register({ service: 'pay', address: '127.0.0.1:3' })).rejects.toThrow(
      /401: changing the registry needs a bearer token or a client certificate/,
    );
    await expect(untrusting.instances('pay')).rejects.toThrow(/self.signed|unable to verify/i);
    expect((await anonymous.instances('pay')).map((i) => i.id).sort()).toEqual(['p1', 'p2']);
    const watch = record(anonymous, 'pay');
    await watch.until((s) => s.length === 2, 5_000);
    watch.dispose();
  });

  it('reloadTls: new connections get the new certificate, the registry keeps serving', async () => {
    const reg = await start({ tls, auth: { tokens } });
    const { connect } = await import('node:tls');
    const fingerprint = () =>
      new Promise<string>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: reg.port, ca: pki.ca.cert }, () => {
          resolve(s.getPeerX509Certificate()!.fingerprint256);
          s.destroy();
        });
        s.on('error', reject);
      });
    const before = await fingerprint();
    const renewed = pki.ca.issue({ commonName: 'registry', altNames: ['IP:127.0.0.1'], usage: 'server' });
    reg.reloadTls(renewed);
    const { X509Certificate } = await import('node:crypto');
    expect(await fingerprint()).toBe(new X509Certificate(renewed.cert).fingerprint256);
    expect(before).not.toBe(new X509Certificate(renewed.cert).fingerprint256);
    const call = raw(reg, { ca: pki.ca.cert });
    expect((await call('GET', '/v1/health')).status).toBe(200);
    const plain = await start({});
    expect(() => plain.reloadTls(renewed)).toThrow(/tls/);
    // Dropping the ca while certificates are credentials would let public CAs in: refused, and
    // the registry keeps its previous settings.
    expect(() => reg.reloadTls({ ca: undefined })).toThrow(/auth.certificates needs tls.ca/);
    expect((await call('GET', '/v1/health')).status).toBe(200);
  });

  it('certificates as credentials without tls.ca are refused at start, unless opted in', async () => {
    const noCa = { key: pki.server.key, cert: pki.server.cert };
    const message = /auth.certificates needs tls.ca/;
    await expect(start({ tls: noCa, auth: { tokens, certificates: true } })).rejects.toThrow(message);
    await expect(
      start({ tls: { ...noCa, requestCert: true }, auth: { certificates: () => undefined } }),
    ).rejects.toThrow(message);
    await expect(start({ auth: { tokens, certificates: true } })).rejects.toThrow(message);
    // Tokens only (certificates unset) need no CA; the explicit opt-in starts too.
    await start({ tls: noCa, auth: { tokens } });
    await start({
      tls: { ...noCa, requestCert: true, trustPublicRoots: true },
      auth: { certificates: true },
    });
  });

  it('a certificate from another CA is not a credential', async () => {
    const reg = await start({ tls, auth: { tokens } });
    const other = createTestPki('mallory');
    try {
      const call = raw(reg, { ca: pki.ca.cert, ...other.client });
      expect(await call('POST', '/v1/services/s/instances', instance)).toMatchObject({ status: 401 });
    } finally {
      other.ca.dispose();
    }
  });

  it('the Eureka client uses the CA and the token', async () => {
    const reg = await start({ tls, auth: { tokens } });
    const eureka = eurekaRegistry({
      serviceUrl: `${reg.url}/eureka`,
      tls: { ca: pki.ca.cert },
      token: 'deploy-token',
      pollIntervalMs: 100,
    });
    clients.push(eureka);
    const r = await eureka.register({ service: 'billing', address: '127.0.0.1:7000', id: 'b1' });
    expect(reg.store.list('BILLING').map((i) => i.id)).toEqual(['b1']);
    await r.deregister();
    expect(reg.store.list('BILLING')).toEqual([]);
    const anonymous = eurekaRegistry({ serviceUrl: `${reg.url}/eureka`, tls: { ca: pki.ca.cert } });
    clients.push(anonymous);
    await expect(anonymous.register({ service: 'billing', address: '127.0.0.1:7001' })).rejects.toThrow(
      /401/,
    );
  });
});
