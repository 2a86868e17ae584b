import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Metadata } from '../core/context.js';
import { defaultClientPolicies } from '../policy/defaults.js';
import { createServer } from '../server/server.js';
import { Greeter } from '../test/greeter.js';
import { createClient, type PanicEvent } from './client.js';

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

describe('panic mode', () => {
  it('is reported through $events.onPanic on entering and on leaving, with counts', async () => {
    const addresses = [await echoServer(), await echoServer()];
    const client = createClient(Greeter, { addresses, policies: false });
    cleanup.push(() => client.close());
    await expect.poll(() => client.$directory.routable().length).toBe(2);
    const events: PanicEvent[] = [];
    client.$events.onPanic((e) => events.push(e));
    const [a, b] = client.$directory.all();
    a!.status = 'ejected';
    b!.status = 'ejected';
    // Panic mode still routes to both: the call succeeds.
    await expect(client.echo(1)).resolves.toBe(1);
    expect(events).toEqual([{ type: 'panic', service: 'greeter', panic: true, routable: 2, total: 2 }]);
    b!.status = 'open';
    await expect(client.echo(2)).resolves.toBe(2);
    expect(events[1]).toEqual({ type: 'panic', service: 'greeter', panic: false, routable: 1, total: 2 });
    expect(events).toHaveLength(2);
  });
});

describe('bad call options', () => {
  it('reject (never throw) with INVALID_ARGUMENT, before anything is sent', async () => {
    const address = await echoServer();
    let sent = 0;
    const client = createClient(Greeter, {
      addresses: [address],
      filters: [
        (req, ctx, next) => {
          sent++;
          return next(req, ctx);
        },
      ],
    });
    cleanup.push(() => client.close());
    let negative: Promise<unknown> | undefined;
    expect(() => {
      negative = client.echo(1, { timeoutMs: -5 });
    }).not.toThrow();
    await expect(negative).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'timeoutMs must be >= 0, got -5',
      mayHaveProcessed: false,
    });
    await expect(client.echo(1, { deadline: new Date('not a date') })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'deadline is not a valid time',
    });
    expect(sent).toBe(0);
    await expect(client.echo(2)).resolves.toBe(2);
  });
});
