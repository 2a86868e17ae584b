import * as v from 'valibot';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { type Client, createClient } from '../client/client.js';
import type { CallContext } from '../core/context.js';
import { createServer } from '../server/server.js';
import { defineService, type, unary } from './define.js';

const Shop = defineService('shop', {
  order: unary({
    input: z.object({ sku: z.string(), qty: z.number().default(1) }),
    output: z.object({ id: z.string(), total: z.number() }),
  }),
  price: unary({ input: v.object({ sku: v.string() }), output: v.number(), idempotent: true }),
  ping: unary({ input: type<void>(), output: type<'pong'>() }),
});

describe('contract inference', () => {
  it('infers method names, inputs and outputs on the client', () => {
    const client = createClient(Shop, { addresses: ['127.0.0.1:1'] });
    expectTypeOf(client).toEqualTypeOf<Client<typeof Shop>>();
    // Schema input types: the default makes qty optional for the caller.
    expectTypeOf(client.order).parameter(0).toEqualTypeOf<{ sku: string; qty?: number | undefined }>();
    expectTypeOf(client.order).returns.resolves.toEqualTypeOf<{ id: string; total: number }>();
    expectTypeOf(client.price).parameter(0).toEqualTypeOf<{ sku: string }>();
    expectTypeOf(client.price).returns.resolves.toBeNumber();
    expectTypeOf(client.ping).returns.resolves.toEqualTypeOf<'pong'>();
    expectTypeOf(client.close).returns.resolves.toBeVoid();
    // @ts-expect-error unknown method
    client.refund;
    // @ts-expect-error wrong input type
    client.price({ sku: 1 });
  });

  it('types handlers from the schema outputs', () => {
    createServer().implement(Shop, {
      async order(input, ctx) {
        // After validation the default has been applied.
        expectTypeOf(input).toEqualTypeOf<{ sku: string; qty: number }>();
        expectTypeOf(ctx).toEqualTypeOf<CallContext>();
        return { id: 'o1', total: input.qty * 2 };
      },
      async price() {
        return 3;
      },
      async ping() {
        return 'pong' as const;
      },
    });
    createServer().implement(Shop, {
      // @ts-expect-error wrong output type
      async order() {
        return { id: 1 };
      },
      async price() {
        return 3;
      },
      async ping() {
        return 'pong' as const;
      },
    });
  });
});
