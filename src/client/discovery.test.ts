import { afterEach, describe, expect, it, vi } from 'vitest';
import { roundRobin } from '../balance/round-robin.js';
import type { RpcError } from '../core/errors.js';
import { memoryRegistry } from '../registry/memory.js';
import type { Discovery } from '../registry/registry.js';
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

  it('registers an IPv6 advertise host in brackets', async () => {
    const registry = memoryRegistry();
    cleanup.push(() => registry.close());
    const a = instance('a');
    const { port } = await a.listen({ host: '127.0.0.1', register: { registry, advertiseHost: '::1' } });
    expect(a.registrations[0]!.instance.address).toBe(`[::1]:${port}`);
    expect((await registry.instances('greeter')).map((i) => i.address)).toEqual([`[::1]:${port}`]);
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

describe('calls waiting for the first discovery answer', () => {
  const silent = { watch: () => ({ dispose() {} }) } as unknown as Discovery;

  it('fail with UNAVAILABLE, never processed, when the client is closed', async () => {
    const client = createClient(Greeter, { registry: silent });
    const call = client.echo(1).catch((e: unknown) => e as RpcError);
    await client.close();
    const err = await Promise.race([call, new Promise((r) => setTimeout(() => r('still pending'), 2_000))]);
    expect(err).toMatchObject({ code: 'UNAVAILABLE', mayHaveProcessed: false });
  });

  it('fail at once, not hang, when made after the client closed', async () => {
    const client = createClient(Greeter, { registry: silent });
    await client.close();
    const err = await Promise.race([
      client.echo(1).catch((e: unknown) => e as RpcError),
      new Promise((r) => setTimeout(() => r('still pending'), 2_000)),
    ]);
    expect(err).toMatchObject({ code: 'UNAVAILABLE', mayHaveProcessed: false });
  });

  it('leave no deadline timer behind when aborted', async () => {
    vi.useFakeTimers();
    cleanup.push(async () => vi.useRealTimers());
    const client = createClient(Greeter, { registry: silent });
    cleanup.push(() => client.close());
    const ac = new AbortController();
    const call = client
      .echo(1, { timeoutMs: 60_000, signal: ac.signal })
      .catch((e: unknown) => e as RpcError);
    expect(vi.getTimerCount()).toBe(1);
    ac.abort();
    expect(await call).toMatchObject({ code: 'CANCELLED', mayHaveProcessed: false });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('leave no abort listener behind when the deadline passes', async () => {
    vi.useFakeTimers();
    cleanup.push(async () => vi.useRealTimers());
    const client = createClient(Greeter, { registry: silent });
    cleanup.push(() => client.close());
    const ac = new AbortController();
    const added = vi.spyOn(ac.signal, 'addEventListener');
    const removed = vi.spyOn(ac.signal, 'removeEventListener');
    const call = client.echo(1, { timeoutMs: 50, signal: ac.signal }).catch((e: unknown) => e as RpcError);
    await vi.advanceTimersByTimeAsync(60);
    expect(await call).toMatchObject({ code: 'DEADLINE_EXCEEDED', mayHaveProcessed: false });
    expect(added).toHaveBeenCalledTimes(1);
    expect(removed).toHaveBeenCalledWith('abort', added.mock.calls[0]![1]);
  });

  it('keep waiting with a deadline beyond the timer limit (setTimeout would fire after 1 ms)', async () => {
    const client = createClient(Greeter, { registry: silent });
    cleanup.push(() => client.close());
    const month = 30 * 24 * 3600 * 1000;
    const call = client.echo(1, { timeoutMs: month }).catch((e: unknown) => e as RpcError);
    const outcome = await Promise.race([call, new Promise((r) => setTimeout(() => r('still waiting'), 50))]);
    expect(outcome).toBe('still waiting');
  });
});
