import { afterEach, describe, expect, it } from 'vitest';
import { roundRobin } from '../balance/round-robin.js';
import type { RpcError } from '../core/errors.js';
import { createServer, type Server } from '../server/server.js';
import { Greeter } from '../test/greeter.js';
import { createClient } from './client.js';

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
