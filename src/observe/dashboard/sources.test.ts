import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../../client/client.js';
import { RpcError } from '../../core/errors.js';
import { memoryRegistry } from '../../registry/memory.js';
import { createServer } from '../../server/server.js';
import { Greeter } from '../../test/greeter.js';
import { Sources } from './sources.js';
import { DashboardState } from './state.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('Sources', () => {
  it('forgets a breaker of an instance that left, so a restart with the same id starts closed', async () => {
    const server = createServer().implement(Greeter, {
      sayHello: async () => {
        throw new RpcError('UNAVAILABLE', 'down');
      },
      echo: async (x) => x,
      sleep: async () => ({ aborted: false }),
      fail: async () => {
        throw new Error('bug');
      },
    });
    cleanup.push(() => server.close({ graceMs: 100 }));
    const { address } = await server.listen();
    const discovery = memoryRegistry();
    cleanup.push(() => discovery.close());
    const instance = { service: Greeter.name, address, id: 'a' };
    const first = await discovery.register(instance);
    const client = createClient(Greeter, {
      registry: discovery,
      policies: {
        retry: false,
        outlier: false,
        breaker: { window: { size: 1 }, minimumCalls: 1, openMs: 60_000 },
      },
    });
    cleanup.push(() => client.close());
    const sources = new Sources(new DashboardState());
    using _attached = sources.attach({ client });

    await expect(client.sayHello({ name: 'x' })).rejects.toThrow();
    expect(sources.endpointViews()).toEqual([expect.objectContaining({ id: 'a', breaker: 'open' })]);

    await first.deregister();
    await expect.poll(() => client.$directory.all().length).toBe(0);
    expect(sources.endpointViews()).toEqual([]);
    await discovery.register(instance);
    await expect.poll(() => client.$directory.all().length).toBe(1);
    // A new endpoint, with a new breaker that is closed.
    expect(sources.endpointViews()).toEqual([expect.not.objectContaining({ breaker: expect.anything() })]);
  });
});
