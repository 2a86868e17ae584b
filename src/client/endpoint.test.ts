import { afterEach, describe, expect, it } from 'vitest';
import { roundRobin } from '../balance/round-robin.js';
import { NEVER_ABORTED } from '../core/context.js';
import type { RpcError } from '../core/errors.js';
import { eject, release } from '../policy/eject.js';
import { normalizeInstance } from '../registry/instance.js';
import { createServer, type Server } from '../server/server.js';
import { Greeter } from '../test/greeter.js';
import { jsonCodec } from '../wire/codec.js';
import { createClient } from './client.js';
import { ClientEndpoint } from './endpoint.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function greeterServer(): Server & { echoes: number } {
  let echoes = 0;
  const server = createServer().implement(Greeter, {
    sayHello: async ({ name }) => ({ message: name }),
    echo: async (x) => {
      echoes++;
      return x;
    },
    sleep: async () => ({ aborted: false }),
    fail: async () => {
      throw new Error('no');
    },
  });
  cleanup.push(() => server.close({ graceMs: 50 }));
  return Object.defineProperty(server, 'echoes', { get: () => echoes }) as Server & { echoes: number };
}

describe('client endpoints', () => {
  it('reconnects with backoff after the server restarts on the same port', async () => {
    const first = greeterServer();
    const { port, address } = await first.listen();
    const client = createClient(Greeter, { addresses: [address], reconnect: { initialMs: 20, maxMs: 100 } });
    cleanup.push(() => client.close());
    await expect(client.echo('a')).resolves.toBe('a');
    const endpoint = client.$directory.all()[0]!;

    await first.close({ graceMs: 100 });
    await expect.poll(() => endpoint.status).toBe('unavailable');
    const down = (await client.echo('b').catch((e: unknown) => e)) as RpcError;
    expect(down.code).toBe('UNAVAILABLE');
    expect(down.mayHaveProcessed).toBe(false);

    const second = greeterServer();
    await second.listen({ port });
    await expect.poll(() => endpoint.status, { timeout: 5_000 }).toBe('open');
    await expect(client.echo('c')).resolves.toBe('c');
  });

  it('spreads calls over several addresses and skips a dead one', async () => {
    const a = greeterServer();
    const b = greeterServer();
    const [{ address: addrA }, { address: addrB }] = await Promise.all([a.listen(), b.listen()]);
    const client = createClient(Greeter, {
      addresses: [addrA, addrB, '127.0.0.1:1'],
      balancer: roundRobin(),
    });
    cleanup.push(() => client.close());
    await expect.poll(() => client.$directory.routable().length).toBe(2);
    for (let i = 0; i < 20; i++) await client.echo(i);
    expect(a.echoes + b.echoes).toBe(20);
    expect(a.echoes).toBeGreaterThan(0);
    expect(b.echoes).toBeGreaterThan(0);
    expect(a.connections + b.connections).toBe(2);
  });
});

describe('endpoint status', () => {
  it('a dial that failed while ejected leaves the endpoint unavailable, not open, when released', async () => {
    const instance = normalizeInstance({ service: 's', address: '127.0.0.1:1', id: 'x' });
    const endpoint = new ClientEndpoint(instance, {
      codec: jsonCodec(),
      endpointFilters: [],
      connectTimeoutMs: 2_000,
      maxFrameBytes: undefined,
      backoff: { initialMs: 60_000 },
      onStatus: () => {},
    });
    cleanup.push(() => endpoint.close());
    eject(endpoint, 'test');
    const ctx = { method: 's/m', service: 's', deadline: Number.POSITIVE_INFINITY, signal: NEVER_ABORTED };
    // Waits for the eager dial to fail (refused), which leaves the ejection in place.
    await expect(
      endpoint.call({}, { ...ctx, metadata: {}, attempt: 1, idempotent: true }),
    ).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    expect(endpoint.status).toBe('ejected');
    release(endpoint, 'test');
    expect(endpoint.status).toBe('unavailable');
  });
});
