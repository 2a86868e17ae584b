import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../client/client.js';
import { RpcError } from '../core/errors.js';
import { constantBackoff } from '../policy/backoff.js';
import { adaptiveConcurrency } from '../policy/shedding.js';
import { fakeClock } from '../policy/testing.js';
import { memoryRegistry } from '../registry/memory.js';
import { createServer } from '../server/server.js';
import { Greeter } from '../test/greeter.js';
import { bindClientMetrics, bindShedMetrics } from './client-metrics.js';
import { parseExposition, sampleValue } from './testing.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A real server whose sayHello fails with UNAVAILABLE (retryable, idempotent method) while `down`. */
async function failingServer(state = { down: true }) {
  const server = createServer().implement(Greeter, {
    sayHello: async ({ name }) => {
      if (state.down) throw new RpcError('UNAVAILABLE', 'down');
      return { message: name };
    },
    echo: async (x) => x,
    sleep: async () => ({ aborted: false }),
    fail: async () => {
      throw new Error('bug');
    },
  });
  cleanup.push(() => server.close({ graceMs: 100 }));
  return (await server.listen()).address;
}

const read = async (registry: Registry) => parseExposition(await registry.metrics()).samples;
const svc = { rpc_service: Greeter.name };

describe('bindClientMetrics', () => {
  it("counts a real client's retries, give-ups, breaker trips and panic mode", async () => {
    const address = await failingServer();
    const client = createClient(Greeter, {
      addresses: [address],
      policies: {
        retry: { maxAttempts: 2, backoff: constantBackoff(0), budget: false },
        breaker: { window: { size: 2 }, minimumCalls: 2, failureRate: 0.5, openMs: 60_000 },
        outlier: false,
      },
    });
    cleanup.push(() => client.close());
    const registry = new Registry();
    using _bound = bindClientMetrics({ registry, client });

    await expect(client.sayHello({ name: 'a' })).rejects.toThrow();
    const id = client.$directory.all()[0]!.instance.id;
    const samples = await read(registry);
    expect(sampleValue(samples, 'tensile_retries_total', svc)).toBe(1);
    expect(sampleValue(samples, 'tensile_retry_give_ups_total', svc)).toBe(1);
    expect(sampleValue(samples, 'tensile_breaker_transitions_total', { ...svc, state: 'open' })).toBe(1);
    expect(sampleValue(samples, 'tensile_breaker_state', { ...svc, instance: id, state: 'open' })).toBe(1);
    expect(sampleValue(samples, 'tensile_breaker_state', { ...svc, instance: id, state: 'half_open' })).toBe(
      0,
    );
    expect(sampleValue(samples, 'tensile_panic_mode', svc)).toBe(0);
    // The only endpoint's circuit is open, so the next pick routes to all of them: panic mode.
    await expect(client.sayHello({ name: 'b' })).rejects.toThrow();
    const after = await read(registry);
    expect(sampleValue(after, 'tensile_panics_total', svc)).toBe(1);
    expect(sampleValue(after, 'tensile_panic_mode', svc)).toBe(1);
  });

  it("counts a real client's ejections and drops series of instances that left", async () => {
    const address = await failingServer();
    const discovery = memoryRegistry();
    cleanup.push(() => discovery.close());
    const registration = await discovery.register({ service: Greeter.name, address });
    const client = createClient(Greeter, {
      registry: discovery,
      policies: {
        retry: false,
        breaker: { window: { size: 1 }, minimumCalls: 1, openMs: 60_000 },
        outlier: { consecutiveFailures: 1 },
      },
    });
    cleanup.push(() => client.close());
    const registry = new Registry();
    using _bound = bindClientMetrics({ registry, client });

    await expect(client.sayHello({ name: 'a' })).rejects.toThrow();
    const id = registration.instance.id;
    let samples = await read(registry);
    expect(sampleValue(samples, 'tensile_ejections_total', svc)).toBe(1);
    expect(sampleValue(samples, 'tensile_ejected_endpoints', svc)).toBe(1);
    expect(sampleValue(samples, 'tensile_breaker_state', { ...svc, instance: id, state: 'open' })).toBe(1);

    // The instance leaves while ejected and open: no event will ever close it, yet its series go.
    await registration.deregister();
    await expect.poll(() => client.$directory.all().length).toBe(0);
    samples = await read(registry);
    expect(sampleValue(samples, 'tensile_ejected_endpoints', svc)).toBe(0);
    expect(sampleValue(samples, 'tensile_breaker_state', { ...svc, instance: id, state: 'open' })).toBe(
      undefined,
    );
  });
});

describe('bindClientMetrics breaker series', () => {
  it('removes a breaker series when its circuit closes again', async () => {
    const state = { down: true };
    const address = await failingServer(state);
    const clock = fakeClock();
    const client = createClient(Greeter, {
      addresses: [address],
      policies: {
        clock,
        retry: false,
        outlier: false,
        breaker: { window: { size: 1 }, minimumCalls: 1, openMs: 1_000, halfOpenCalls: 1 },
      },
    });
    cleanup.push(() => client.close());
    const registry = new Registry();
    using _bound = bindClientMetrics({ registry, client });
    const breakerOf = async (s: string) =>
      sampleValue(await read(registry), 'tensile_breaker_state', { ...svc, instance: address, state: s });

    await expect(client.sayHello({ name: 'a' })).rejects.toThrow();
    expect(await breakerOf('open')).toBe(1);
    state.down = false;
    await clock.advance(1_000);
    expect([await breakerOf('open'), await breakerOf('half_open')]).toEqual([0, 1]);
    await client.sayHello({ name: 'probe' });
    expect([await breakerOf('open'), await breakerOf('half_open')]).toEqual([undefined, undefined]);
    const closed = sampleValue(await read(registry), 'tensile_breaker_transitions_total', {
      ...svc,
      state: 'closed',
    });
    expect(closed).toBe(1);
  });
});

describe('bindShedMetrics', () => {
  it("counts calls a real server's adaptive limit sheds", async () => {
    const limiter = adaptiveConcurrency({ initialLimit: 1, minLimit: 1, maxLimit: 1 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const server = createServer({ filters: [limiter] }).implement(Greeter, {
      sayHello: async ({ name }) => ({ message: name }),
      echo: async (x) => x,
      sleep: async () => {
        await gate;
        return { aborted: false };
      },
      fail: async () => {
        throw new Error('bug');
      },
    });
    cleanup.push(() => server.close({ graceMs: 100 }));
    const { address } = await server.listen();
    const registry = new Registry();
    using _bound = bindShedMetrics({ registry, events: limiter.onShed });
    const client = createClient(Greeter, { addresses: [address], policies: false });
    cleanup.push(() => client.close());

    const first = client.sleep({ ms: 0 });
    await expect.poll(() => limiter.inflight).toBe(1);
    await expect(client.sleep({ ms: 0 })).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
    release();
    await first;
    const samples = await read(registry);
    expect(sampleValue(samples, 'tensile_shed_calls_total', { ...svc, policy: 'adaptive-concurrency' })).toBe(
      1,
    );
  });
});
