import { afterEach, describe, expect, it } from 'vitest';
import { roundRobin } from '../balance/round-robin.js';
import { memoryRegistry } from '../registry/memory.js';
import { createServer, type Server } from '../server/server.js';
import { Greeter } from '../test/greeter.js';
import { createClient } from './client.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function instance(name: string): Server {
  const server = createServer().implement(Greeter, {
    sayHello: async () => ({ message: name }),
    echo: async () => name,
    sleep: async ({ ms }) => new Promise((r) => setTimeout(() => r({ aborted: false }), ms)),
    fail: async () => {
      throw new Error('no');
    },
  });
  cleanup.push(() => server.close({ graceMs: 50 }));
  return server;
}

describe('discovery through a registry', () => {
  it('routes by service name as instances register and deregister', async () => {
    const registry = memoryRegistry();
    cleanup.push(() => registry.close());
    // Round-robin makes "both instances get calls" certain; P2C would be free to prefer one.
    const client = createClient(Greeter, { registry, balancer: roundRobin() });
    cleanup.push(() => client.close());

    const a = instance('a');
    await a.listen({ register: { registry, zone: 'z1' } });
    expect(a.registrations).toHaveLength(1);
    await expect.poll(() => client.$directory.routable().length).toBe(1);
    await expect(client.echo(null)).resolves.toBe('a');

    const b = instance('b');
    await b.listen({ register: { registry } });
    await expect.poll(() => client.$directory.routable().length).toBe(2);
    const seen = new Set<unknown>();
    for (let i = 0; i < 10; i++) seen.add(await client.echo(null));
    expect(seen).toEqual(new Set(['a', 'b']));

    // Closing deregisters first, so the client stops routing to it; calls in flight finish.
    const slow = client.sleep({ ms: 100 });
    await a.close({ graceMs: 2_000 });
    await expect.poll(() => client.$directory.all().map((e) => e.instance.address)).toEqual([b.address]);
    await expect(slow).resolves.toEqual({ aborted: false });
    for (let i = 0; i < 5; i++) await expect(client.echo(null)).resolves.toBe('b');
  });

  it('routes only to UP instances', async () => {
    const registry = memoryRegistry();
    cleanup.push(() => registry.close());
    const a = instance('a');
    const b = instance('b');
    await a.listen({ register: { registry } });
    await b.listen({ register: { registry, status: 'STARTING' } });
    const client = createClient(Greeter, { registry });
    cleanup.push(() => client.close());
    await expect.poll(() => client.$directory.all().length).toBe(2);
    for (let i = 0; i < 6; i++) await expect(client.echo(null)).resolves.toBe('a');
    await b.registrations[0]!.setStatus('UP');
    await a.registrations[0]!.setStatus('OUT_OF_SERVICE');
    await expect.poll(() => client.$directory.routable().map((e) => e.instance.address)).toEqual([b.address]);
    for (let i = 0; i < 6; i++) await expect(client.echo(null)).resolves.toBe('b');
  });
});
