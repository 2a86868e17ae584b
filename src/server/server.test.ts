import * as v from 'valibot';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../client/client.js';
import { defineService, unary } from '../contract/define.js';
import { RpcError } from '../core/errors.js';
import { Greeter } from '../test/greeter.js';
import { createServer, type Server } from './server.js';

const servers: Server[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
  await Promise.all(servers.splice(0).map((s) => s.close({ graceMs: 100 })));
});

async function startGreeter(options: Parameters<typeof createServer>[0] = {}) {
  const executions: string[] = [];
  const aborted: string[] = [];
  const server = createServer(options).implement(Greeter, {
    async sayHello({ name, times }, ctx) {
      executions.push(name);
      return { message: `hello ${name}`.repeat(times ?? 1) + (ctx.metadata['x-suffix'] ?? '') };
    },
    async echo(input) {
      return input;
    },
    sleep({ ms }, ctx) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve({ aborted: false }), ms);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          aborted.push(String((ctx.signal.reason as RpcError).code));
          resolve({ aborted: true });
        });
      });
    },
    async fail({ kind }) {
      if (kind === 'rpc') throw new RpcError('NOT_FOUND', 'no such greeting', { details: { id: 7 } });
      throw new Error('secret database password in message');
    },
  });
  servers.push(server);
  const { port, address } = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, port, address, executions, aborted };
}

function client(address: string, codec: 'json' | 'msgpack' = 'json') {
  const c = createClient(Greeter, { addresses: [address], codec });
  closers.push(() => c.close());
  return c;
}

describe.each(['json', 'msgpack'] as const)('unary calls over %s', (codec) => {
  it('round-trips a validated call with metadata', async () => {
    const { address, port } = await startGreeter();
    expect(port).toBeGreaterThan(0);
    const c = client(address, codec);
    await expect(c.sayHello({ name: 'ada' }, { metadata: { 'x-suffix': '!' } })).resolves.toEqual({
      message: 'hello ada!',
    });
    await expect(c.echo({ a: [1, 2, { b: null }], s: 'ü' })).resolves.toEqual({
      a: [1, 2, { b: null }],
      s: 'ü',
    });
    await expect(c.echo(undefined)).resolves.toBeUndefined();
  });

  it('multiplexes many concurrent calls on one connection', async () => {
    const { address, server } = await startGreeter();
    const c = client(address, codec);
    const replies = await Promise.all(Array.from({ length: 500 }, (_, i) => c.echo({ i })));
    expect(replies).toEqual(Array.from({ length: 500 }, (_, i) => ({ i })));
    expect(server.connections).toBe(1);
  });
});

describe('errors', () => {
  it('rejects invalid input with INVALID_ARGUMENT naming the paths', async () => {
    const { address, executions } = await startGreeter();
    const c = client(address);
    const err = await c.sayHello({ name: '', times: 1.5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).code).toBe('INVALID_ARGUMENT');
    const paths = ((err as RpcError).details as { issues: { path: string }[] }).issues
      .map((i) => i.path)
      .sort();
    expect(paths).toEqual(['name', 'times']);
    expect(executions).toEqual([]);
  });

  it('validates with valibot as well as zod', async () => {
    const Calc = defineService('calc', {
      add: unary({ input: v.object({ a: v.number(), b: v.number() }), output: v.number() }),
    });
    const server = createServer().implement(Calc, { add: async ({ a, b }) => a + b });
    servers.push(server);
    const { address } = await server.listen();
    const c = createClient(Calc, { addresses: [address] });
    closers.push(() => c.close());
    await expect(c.add({ a: 2, b: 3 })).resolves.toBe(5);
    const err = (await c.add({ a: 2, b: 'x' as unknown as number }).catch((e: unknown) => e)) as RpcError;
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('b');
  });

  it('passes RpcErrors through and hides handler exceptions', async () => {
    const seen: unknown[] = [];
    const { address } = await startGreeter({ onHandlerError: (e) => seen.push(e) });
    const c = client(address);
    const rpc = (await c.fail({ kind: 'rpc' }).catch((e: unknown) => e)) as RpcError;
    expect([rpc.code, rpc.message, rpc.details]).toEqual(['NOT_FOUND', 'no such greeting', { id: 7 }]);
    const internal = (await c.fail({ kind: 'throw' }).catch((e: unknown) => e)) as RpcError;
    expect(internal.code).toBe('INTERNAL');
    expect(internal.message).not.toContain('secret');
    expect(internal.details).toBeUndefined();
    expect(seen).toHaveLength(1);
  });

  it('exposes handler errors only when the server opts in', async () => {
    const { address } = await startGreeter({ exposeErrors: true });
    const internal = (await client(address)
      .fail({ kind: 'throw' })
      .catch((e: unknown) => e)) as RpcError;
    expect(internal.message).toContain('secret');
    expect(String((internal.details as { stack: string }).stack)).toContain('server.test.ts');
  });

  it('answers an unknown method with UNIMPLEMENTED, safe to retry', async () => {
    const { address } = await startGreeter();
    const Other = defineService('greeter', { missing: unary({ input: v.string(), output: v.string() }) });
    const c = createClient(Other, { addresses: [address] });
    closers.push(() => c.close());
    const err = (await c.missing('x').catch((e: unknown) => e)) as RpcError;
    expect(err.code).toBe('UNIMPLEMENTED');
    expect(err.mayHaveProcessed).toBe(false);
  });
});

describe('deadlines and cancellation', () => {
  it('expires a call on the client and aborts the handler on the server', async () => {
    const { address, aborted } = await startGreeter();
    const c = client(address);
    const err = (await c.sleep({ ms: 5_000 }, { timeoutMs: 50 }).catch((e: unknown) => e)) as RpcError;
    expect(err.code).toBe('DEADLINE_EXCEEDED');
    await expect.poll(() => aborted.length).toBe(1);
    expect(['DEADLINE_EXCEEDED', 'CANCELLED']).toContain(aborted[0]);
  });

  it('propagates cancellation from an AbortSignal to the handler', async () => {
    const { address, aborted } = await startGreeter();
    const c = client(address);
    await c.echo(1); // connected
    const controller = new AbortController();
    const call = c.sleep({ ms: 5_000 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    expect(((await call.catch((e: unknown) => e)) as RpcError).code).toBe('CANCELLED');
    await expect.poll(() => aborted).toEqual(['CANCELLED']);
  });

  it('fails fast when the deadline has already passed', async () => {
    const { address, executions } = await startGreeter();
    const err = (await client(address)
      .sayHello({ name: 'x' }, { deadline: Date.now() - 1 })
      .catch((e: unknown) => e)) as RpcError;
    expect(err.code).toBe('DEADLINE_EXCEEDED');
    expect(err.mayHaveProcessed).toBe(false);
    expect(executions).toEqual([]);
  });
});

describe('graceful close', () => {
  it('finishes calls in flight, refuses new ones as never processed, then closes', async () => {
    const { address, server } = await startGreeter();
    const c = client(address);
    await c.echo(0);
    const inflight = c.sleep({ ms: 150 });
    await expect.poll(() => server.inflight).toBe(1);
    const closing = server.close({ graceMs: 5_000 });
    await expect(inflight).resolves.toEqual({ aborted: false });
    await closing;
    const after = (await c.echo(1).catch((e: unknown) => e)) as RpcError;
    expect(after.code).toBe('UNAVAILABLE');
    expect(after.mayHaveProcessed).toBe(false);
    expect(c.$directory.all()[0]?.status).not.toBe('open');
  });

  it('aborts handlers still running when the grace period ends', async () => {
    const { address, server, aborted } = await startGreeter();
    const c = client(address);
    await c.echo(0);
    const inflight = c.sleep({ ms: 10_000 }).catch((e: unknown) => e);
    await expect.poll(() => server.inflight).toBe(1);
    await server.close({ graceMs: 50 });
    const err = (await inflight) as RpcError;
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.mayHaveProcessed).toBe(true);
    expect(aborted).toEqual(['UNAVAILABLE']);
  });
});

describe('options', () => {
  it('refuses timeouts Node timers cannot run: infinite, fractional, negative or above 2^31-1 ms', () => {
    for (const idleTimeoutMs of [Number.POSITIVE_INFINITY, Number.NaN, -1, 1.5, 2 ** 31]) {
      expect(() => createServer({ idleTimeoutMs }), String(idleTimeoutMs)).toThrow(
        /^idleTimeoutMs \(0 = never\) must be an integer in 0\.\.2147483647/,
      );
    }
    for (const handshakeTimeoutMs of [Number.POSITIVE_INFINITY, 0, 2 ** 31, 2 ** 32 - 1]) {
      expect(() => createServer({ handshakeTimeoutMs }), String(handshakeTimeoutMs)).toThrow(RangeError);
    }
    expect(() => createServer({ idleTimeoutMs: 0, handshakeTimeoutMs: 2 ** 31 - 1 })).not.toThrow();
    expect(() => createServer({ idleTimeoutMs: 2 ** 31 - 1 })).not.toThrow();
  });

  it('a listen that failed (port in use) can be retried', async () => {
    const first = createServer();
    servers.push(first);
    const { port } = await first.listen();
    const second = createServer();
    servers.push(second);
    await expect(second.listen({ port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await expect(second.listen()).resolves.toMatchObject({ port: expect.any(Number) });
    expect(second.address).not.toBe(first.address);
  });
});
