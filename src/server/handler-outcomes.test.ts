import type { StandardSchemaV1 } from '@standard-schema/spec';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../client/client.js';
import { defineService, type, unary } from '../contract/define.js';
import type { CallContext } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import type { Filter } from '../core/service.js';
import { createServer, type Server } from './server.js';

const Orders = defineService('orders', {
  place: unary({ input: type<{ id: string }>(), output: type<{ ok: boolean }>() }),
  toString: unary({ input: type<unknown>(), output: type<string>() }),
});

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function serve(server: Server) {
  cleanup.push(() => server.close({ graceMs: 50 }));
  const { address } = await server.listen({ host: '127.0.0.1', port: 0 });
  const client = createClient(Orders, { addresses: [address] });
  cleanup.push(() => client.close());
  return client;
}

describe('what a handler throws or returns', () => {
  it('a downstream "not processed" error rethrown by a handler reaches the caller as may-have-run, and is not retried', async () => {
    let runs = 0;
    const client = await serve(
      createServer().implement(Orders, {
        async place() {
          runs++;
          // As if a call to a downed backend failed before reaching it, and the handler let it through.
          throw new RpcError('UNAVAILABLE', 'backend down', { mayHaveProcessed: false, details: { hop: 2 } });
        },
        async toString() {
          return 'x';
        },
      }),
    );
    const err = (await client.place({ id: 'a' }).catch((e: unknown) => e)) as RpcError;
    expect(err).toMatchObject({ code: 'UNAVAILABLE', message: 'backend down', mayHaveProcessed: true });
    expect(err.details).toEqual({ hop: 2 });
    expect(runs).toBe(1);
  });

  it('a server filter that refuses before the handler still says not processed', async () => {
    const refuse: Filter = () => {
      throw new RpcError('RESOURCE_EXHAUSTED', 'busy', { mayHaveProcessed: false });
    };
    const client = await serve(
      createServer({ filters: [refuse] }).implement(Orders, {
        place: async () => ({ ok: true }),
        toString: async () => 'x',
      }),
    );
    await expect(client.place({ id: 'a' }, { timeoutMs: 1000 })).rejects.toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
      mayHaveProcessed: false,
    });
  });

  it('a plain (non-promise) value from a JavaScript handler is the reply, and other calls on the connection go on', async () => {
    const client = await serve(
      createServer().implement(Orders, {
        place: (() => ({ ok: true })) as unknown as () => Promise<{ ok: boolean }>,
        toString: () => new Promise((r) => setTimeout(() => r('slow'), 100)),
      }),
    );
    const slow = client.toString(null);
    await expect(client.place({ id: 'a' })).resolves.toEqual({ ok: true });
    await expect(slow).resolves.toBe('slow');
  });

  it('calls a class-instance handler with its own this', async () => {
    class Impl {
      private readonly prefix = 'order';
      async place({ id }: { id: string }) {
        return { ok: `${this.prefix}-${id}` === 'order-7' };
      }
      async toString(_: unknown, ctx: CallContext) {
        return `${this.prefix} via ${ctx.method}`;
      }
    }
    const client = await serve(createServer().implement(Orders, new Impl()));
    await expect(client.place({ id: '7' })).resolves.toEqual({ ok: true });
    await expect(client.toString(null)).resolves.toBe('order via orders/toString');
  });

  it('a method named like an Object.prototype member needs its own handler', () => {
    expect(() => createServer().implement(Orders, { place: async () => ({ ok: true }) } as never)).toThrow(
      /missing handler for orders\.toString/,
    );
  });

  it('validates with an asynchronous Standard Schema: transformed input, or INVALID_ARGUMENT without running the handler', async () => {
    const upperName: StandardSchemaV1<unknown, { name: string }> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: async (value) =>
          typeof (value as { name?: unknown })?.name === 'string'
            ? { value: { name: (value as { name: string }).name.toUpperCase() } }
            : { issues: [{ message: 'name must be a string', path: ['name'] }] },
      },
    };
    const Named = defineService('named', { hi: unary({ input: upperName, output: type<string>() }) });
    let runs = 0;
    const server = createServer().implement(Named, {
      async hi({ name }) {
        runs++;
        return `hi ${name}`;
      },
    });
    cleanup.push(() => server.close({ graceMs: 50 }));
    const { address } = await server.listen({ host: '127.0.0.1', port: 0 });
    const client = createClient(Named, { addresses: [address] });
    cleanup.push(() => client.close());
    await expect(client.hi({ name: 'ada' })).resolves.toBe('hi ADA');
    await expect(client.hi({ name: 7 } as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'invalid input: name: name must be a string',
    });
    expect(runs).toBe(1);
  });

  it('__proto__ is not a method name', () => {
    expect(() => defineService('s', JSON.parse('{"__proto__": {"kind": "unary"}}'))).toThrow(/reserved/);
  });
});
