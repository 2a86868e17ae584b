import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { roundRobin } from '../balance/round-robin.js';
import type { RpcError } from '../core/errors.js';
import { eject, release } from '../policy/eject.js';
import { normalizeInstance } from '../registry/instance.js';
import { createServer, type Server } from '../server/server.js';
import { Greeter } from '../test/greeter.js';
import { jsonCodec } from '../wire/codec.js';
import { HandshakeStatus } from '../wire/handshake.js';
import { createClient } from './client.js';
import { ClientEndpoint } from './endpoint.js';
import { ctx, reply, scripted } from './test-scripted.js';

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
    // Waits for the eager dial to fail (refused), which leaves the ejection in place.
    await expect(endpoint.call({}, ctx('s/m'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(endpoint.status).toBe('ejected');
    release(endpoint, 'test');
    expect(endpoint.status).toBe('unavailable');
  });

  it('is busy while calls in flight reach the server limit, open again once 1/8 of them finished', async () => {
    const held: { callId: number; socket: Socket }[] = [];
    const server = await scripted(
      (f, socket) => held.push({ callId: f.callId, socket }),
      HandshakeStatus.OK,
      16,
    );
    const statuses: string[] = [];
    const endpoint: ClientEndpoint = new ClientEndpoint(
      normalizeInstance({ service: 's', address: server.address, id: 'y' }),
      {
        codec: jsonCodec(),
        endpointFilters: [],
        connectTimeoutMs: 2_000,
        maxFrameBytes: undefined,
        backoff: undefined,
        onStatus: () => statuses.push(endpoint.status),
      },
    );
    cleanup.push(() => endpoint.close(50));
    const calls = Array.from({ length: 16 }, (_, i) => endpoint.call(i, ctx('s/m')));
    await expect.poll(() => endpoint.status).toBe('busy');
    await expect.poll(() => held.length).toBe(16);
    reply(held[0]!.socket, held[0]!.callId, 'done');
    await calls[0];
    expect(endpoint.status).toBe('busy');
    reply(held[1]!.socket, held[1]!.callId, 'done');
    await calls[1];
    expect(endpoint.status).toBe('open');
    expect(statuses).toEqual(['busy', 'open']);
    for (const h of held.slice(2)) reply(h.socket, h.callId, 'done');
    await Promise.all(calls);
  });
});
