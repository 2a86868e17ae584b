import { Gauge, register as globalRegistry, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../client/client.js';
import { RpcError } from '../core/errors.js';
import { createServer } from '../server/server.js';
import { Greeter } from '../test/greeter.js';
import { clientMetrics, serverMetrics } from './metrics.js';
import { metricsHandler, serveMetrics } from './metrics-http.js';
import { type Sample, sampleValue, scrape, select } from './testing.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function start(serverRegistry: Registry, clientRegistry: Registry) {
  const server = createServer({ filters: [serverMetrics({ registry: serverRegistry })] }).implement(Greeter, {
    sayHello: async ({ name }) => ({ message: `hello ${name}` }),
    echo: async (x) => x,
    sleep: ({ ms }) => new Promise((r) => setTimeout(() => r({ aborted: false }), ms)),
    fail: async ({ kind }) => {
      if (kind === 'rpc') throw new RpcError('NOT_FOUND', 'nope');
      throw new Error('bug');
    },
  });
  cleanup.push(() => server.close({ graceMs: 100 }));
  const { address } = await server.listen();
  const client = createClient(Greeter, {
    addresses: [address],
    filters: [clientMetrics({ registry: clientRegistry })],
  });
  cleanup.push(() => client.close());
  return client;
}

async function serve(registry: Registry) {
  const m = await serveMetrics({ registry });
  cleanup.push(() => m.close());
  return m;
}

/** Checks the histogram invariants for one label set and returns its count. */
function histogramCount(samples: Sample[], side: string, labels: Record<string, string>): number {
  const name = `rpc_${side}_call_duration_seconds`;
  const buckets = select(samples, `${name}_bucket`, labels);
  const counts = buckets.map((b) => b.value);
  expect(counts).toEqual([...counts].sort((a, b) => a - b));
  const count = sampleValue(samples, `${name}_count`, labels)!;
  expect(buckets.at(-1)).toMatchObject({ labels: { le: '+Inf' }, value: count });
  expect(sampleValue(samples, `${name}_sum`, labels)).toBeGreaterThan(0);
  return count;
}

describe('clientMetrics and serverMetrics', () => {
  it('count calls by service, method and status on both sides, scraped over HTTP', async () => {
    const serverRegistry = new Registry();
    const clientRegistry = new Registry();
    const client = await start(serverRegistry, clientRegistry);
    for (let i = 0; i < 3; i++) await client.sayHello({ name: 'ada' });
    await expect(client.fail({ kind: 'rpc' })).rejects.toThrow('nope');
    await expect(client.fail({ kind: 'throw' })).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(client.sayHello({ name: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });

    const [server, cli] = [await serve(serverRegistry), await serve(clientRegistry)];
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const s = await scrape(server.url);
    const c = await scrape(cli.url);
    expect(s.contentType).toContain('text/plain');
    expect(s.types.get('rpc_server_call_duration_seconds')).toBe('histogram');
    expect(c.types.get('rpc_client_calls_in_flight')).toBe('gauge');

    const hello = { rpc_service: 'greeter', rpc_method: 'sayHello' };
    for (const [side, samples] of [
      ['server', s.samples],
      ['client', c.samples],
    ] as const) {
      expect(histogramCount(samples, side, { ...hello, rpc_response_status_code: 'OK' })).toBe(3);
      expect(histogramCount(samples, side, { ...hello, rpc_response_status_code: 'INVALID_ARGUMENT' })).toBe(
        1,
      );
      const fail = { rpc_service: 'greeter', rpc_method: 'fail' };
      expect(histogramCount(samples, side, { ...fail, rpc_response_status_code: 'NOT_FOUND' })).toBe(1);
      // The handler threw a plain Error: the server answered INTERNAL and both sides count that.
      expect(histogramCount(samples, side, { ...fail, rpc_response_status_code: 'INTERNAL' })).toBe(1);
      expect(sampleValue(samples, `rpc_${side}_calls_in_flight`, hello)).toBe(0);
    }
    expect(globalRegistry.getSingleMetric('rpc_client_call_duration_seconds')).toBeUndefined();
  });

  it('reports calls in flight while they run', async () => {
    const serverRegistry = new Registry();
    const clientRegistry = new Registry();
    const client = await start(serverRegistry, clientRegistry);
    const [server, cli] = [await serve(serverRegistry), await serve(clientRegistry)];
    const sleep = { rpc_service: 'greeter', rpc_method: 'sleep' };
    const calls = [client.sleep({ ms: 300 }), client.sleep({ ms: 300 })];
    await expect
      .poll(async () => sampleValue((await scrape(server.url)).samples, 'rpc_server_calls_in_flight', sleep))
      .toBe(2);
    expect(sampleValue((await scrape(cli.url)).samples, 'rpc_client_calls_in_flight', sleep)).toBe(2);
    await Promise.all(calls);
    expect(sampleValue((await scrape(cli.url)).samples, 'rpc_client_calls_in_flight', sleep)).toBe(0);
    expect(
      sampleValue((await scrape(server.url)).samples, 'rpc_server_call_duration_seconds_count', sleep),
    ).toBe(2);
  });

  it('shares series between clients on one registry and puts durations in the right buckets', async () => {
    const registry = new Registry();
    let clock = 0;
    const now = () => clock;
    const filter = clientMetrics({ registry, buckets: [0.05, 0.01], now });
    const other = clientMetrics({ registry, buckets: [0.01, 0.05], now });
    expect(() => clientMetrics({ registry })).toThrow(/other buckets/);
    const ctx = {
      method: 'svc/m',
      service: 'svc',
      deadline: Number.POSITIVE_INFINITY,
      signal: new AbortController().signal,
      metadata: {},
      attempt: 1,
      idempotent: true,
    };
    const taking = (ms: number) => async () => {
      clock += ms;
    };
    await filter(null, ctx, taking(10)); // on the bound: buckets are inclusive
    await other(null, ctx, taking(25));
    await filter(null, ctx, taking(80));
    const labels = { rpc_service: 'svc', rpc_method: 'm', rpc_response_status_code: 'OK' };
    const { samples } = await scrape((await serve(registry)).url);
    const le = (b: string) =>
      sampleValue(samples, 'rpc_client_call_duration_seconds_bucket', { ...labels, le: b });
    expect([le('0.01'), le('0.05'), le('+Inf')]).toEqual([1, 2, 3]);
    expect(sampleValue(samples, 'rpc_client_call_duration_seconds_sum', labels)).toBeCloseTo(0.115, 9);
    await registry.resetMetrics();
    expect(await registry.getSingleMetricAsString('rpc_client_call_duration_seconds')).not.toContain('svc');
  });
});

describe('buckets', () => {
  it('accepts the same unsorted buckets twice on one registry, and still refuses other ones', () => {
    const registry = new Registry();
    clientMetrics({ registry, buckets: [1, 0.1, 0.5] });
    expect(() => clientMetrics({ registry, buckets: [1, 0.1, 0.5] })).not.toThrow();
    expect(() => clientMetrics({ registry, buckets: [0.5, 1, 0.1] })).not.toThrow();
    expect(() => clientMetrics({ registry, buckets: [0.1, 1] })).toThrow('other buckets');
  });
});

describe('metricsHandler', () => {
  it('serves only GET /metrics', async () => {
    const registry = new Registry();
    const { createServer: createHttp } = await import('node:http');
    const http = createHttp(metricsHandler(registry));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => http.close(r)));
    const base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    expect((await fetch(`${base}/metrics?x=1`)).status).toBe(200);
    expect((await fetch(`${base}/other`)).status).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });

  it('serves the other metrics when one collect function throws', async () => {
    const registry = new Registry();
    new Gauge({ name: 'ok_gauge', help: 'fine', registers: [registry] }).set(7);
    new Gauge({
      name: 'broken_gauge',
      help: 'its source is gone',
      registers: [registry],
      collect() {
        throw new TypeError('source is gone');
      },
    });
    const { samples } = await scrape((await serve(registry)).url);
    expect(sampleValue(samples, 'ok_gauge')).toBe(7);
    expect(sampleValue(samples, 'broken_gauge')).toBeUndefined();
  });
});
