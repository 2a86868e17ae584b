import { z } from 'zod';
import { defineService, type, unary } from '../contract/define.js';

/** A service used across tests: zod-validated and type-only methods. */
export const Greeter = defineService('greeter', {
  sayHello: unary({
    input: z.object({ name: z.string().min(1), times: z.number().int().positive().optional() }),
    output: z.object({ message: z.string() }),
    idempotent: true,
  }),
  echo: unary({ input: type<unknown>(), output: type<unknown>() }),
  sleep: unary({ input: type<{ ms: number }>(), output: type<{ aborted: boolean }>() }),
  fail: unary({ input: type<{ kind: 'rpc' | 'throw' }>(), output: type<never>() }),
});
