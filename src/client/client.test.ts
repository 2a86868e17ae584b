import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Metadata } from '../core/context.js';
import { defaultClientPolicies } from '../policy/defaults.js';
import { createServer } from '../server/server.js';
import { Greeter } from '../test/greeter.js';
import { createClient } from './client.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function echoServer(): Promise<string> {
  const server = createServer().implement(Greeter, {
    sayHello: async ({ name }) => ({ message: name }),
    echo: async (x) => x,
    sleep: async () => ({ aborted: false }),
    fail: async () => {
      throw new Error('no');
    },
  });
  cleanup.push(() => server.close({ graceMs: 50 }));
  return (await server.listen()).address;
}

describe('client metadata', () => {
  it('shares the frozen base metadata across calls that bring none, and merges when they do', async () => {
    const address = await echoServer();
    const seen: Metadata[] = [];
    const client = createClient(Greeter, {
      addresses: [address],
      metadata: { tenant: 'a' },
      filters: [
        (req, ctx, next) => {
          seen.push(ctx.metadata);
          return next(req, ctx);
        },
      ],
    });
    cleanup.push(() => client.close());
    await client.echo(1);
    await client.echo(2);
    await client.echo(3, { metadata: { tenant: 'b', trace: 't' } });
    expect(seen[0]).toEqual({ tenant: 'a' });
    expect(seen[1]).toBe(seen[0]);
    expect(Object.isFrozen(seen[0])).toBe(true);
    expect(seen[2]).toEqual({ tenant: 'b', trace: 't' });
  });
});

describe('client policies', () => {
  it('close() leaves a ready-made (possibly shared) policy stack to its owner', async () => {
    const address = await echoServer();
    const shared = defaultClientPolicies();
    const disposed = vi.spyOn(shared, 'dispose');
    const a = createClient(Greeter, { addresses: [address], policies: shared });
    const b = createClient(Greeter, { addresses: [address], policies: shared });
    await a.close();
    expect(disposed).not.toHaveBeenCalled();
    await expect(b.echo(1)).resolves.toBe(1);
    await b.close();
    expect(disposed).not.toHaveBeenCalled();
    shared.dispose();
  });
});
