// The README's quick start, runnable: `npx tsx examples/quickstart.ts`.
import { z } from 'zod';
import { createClient, createServer, defineService, unary } from '../src/index.js';

const Greeter = defineService('greeter', {
  sayHello: unary({
    input: z.object({ name: z.string().min(1) }),
    output: z.object({ message: z.string() }),
    idempotent: true,
  }),
});

const server = createServer().implement(Greeter, {
  async sayHello({ name }, ctx) {
    return { message: `Hello, ${name} (deadline in ${Math.round(ctx.deadline - Date.now())} ms)` };
  },
});
const { address } = await server.listen({ host: '127.0.0.1', port: 0 });

const greeter = createClient(Greeter, { addresses: [address] });
const reply = await greeter.sayHello({ name: 'Ada' }, { timeoutMs: 1_000 });
console.log(reply.message);

await greeter.sayHello({ name: '' }).catch((err) => console.log(`${err.code}: ${err.message}`));

await greeter.close();
await server.close();
