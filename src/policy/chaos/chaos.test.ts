// Chaos tests: real instance processes (instance.ts through `node --import tsx`), an embedded
// registry in this process, and clients under steady closed-loop load. Faults are real
// signals (SIGKILL, SIGSTOP), injected errors, a registry that goes away, and a flood.
// Every instance logs the id of each call it starts with a synchronous write, so
// executions are counted even on an instance killed mid-call.
import { afterEach, describe, expect, it } from 'vitest';
import { type Client, type ClientOptions, createClient } from '../../client/client.js';
import type { EndpointFilterFactory } from '../../client/endpoint-types.js';
import { embeddedRegistry } from '../../registry/embedded/client.js';
import { type StartRegistryOptions, startRegistry } from '../../registry/embedded/server.js';
import type { BreakEvent, BreakerStateEvent } from '../breaker.js';
import type { EjectEvent } from '../outlier.js';
import { ChaosService } from './chaos-service.js';
import { describeFailures, Fleet, Load, until } from './harness.js';

type ChaosClient = Client<typeof ChaosService>;

const REGISTRY: StartRegistryOptions = {
  leaseTtlMs: 2_000,
  renewIntervalMs: 500,
  evictionIntervalMs: 200,
  selfPreservation: false,
};

// Loads stop first, then every child is killed (so a client closing towards a hung instance
// does not spend its close linger on it), then clients and registries.
const loads: Load[] = [];
const fleets: Fleet[] = [];
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(loads.splice(0).map((l) => l.stop()));
  await Promise.all(fleets.splice(0).map((f) => f.dispose()));
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
});

interface SetupOptions {
  /** One environment per instance; default three plain instances. */
  env?: Record<string, string>[];
  registry?: StartRegistryOptions;
}

async function setup({ env = [{}, {}, {}], registry: registryOptions = REGISTRY }: SetupOptions = {}) {
  const registry = await startRegistry(registryOptions);
  const state = { registry };
  cleanup.push(() => state.registry.close());
  const fleet = new Fleet(registry.url);
  fleets.push(fleet);
  const instances = await Promise.all(env.map((e, n) => fleet.start(String.fromCharCode(97 + n), e)));
  // A short reconnect cap for the watch, as a client of a registry that restarts would set.
  const discovery = embeddedRegistry({ url: registry.url, backoff: { maxMs: 500 } });
  cleanup.push(() => discovery.close());
  const connect = async (options: Omit<ClientOptions, 'registry'> = {}) => {
    const client = createClient(ChaosService, { registry: discovery, ...options });
    cleanup.push(() => client.close());
    await until(
      () =>
        client.$directory.all().length === instances.length &&
        client.$directory.all().every((e) => e.status === 'open'),
      15_000,
      'the client to see every instance',
    );
    return client;
  };
  return { state, fleet, instances, discovery, connect };
}

const caller =
  (client: ChaosClient, timeoutMs = 5_000) =>
  (method: 'work' | 'charge', job: { id: string }) =>
    client[method](job, { timeoutMs });

function startLoad(...args: ConstructorParameters<typeof Load>): Load {
  const load = new Load(...args);
  loads.push(load);
  return load;
}

/** Counts attempts that really go out to each instance (after the breaker and outlier filters). */
function sentCounter() {
  const sent = new Map<string, number>();
  const filter: EndpointFilterFactory = (endpoint) => {
    const id = endpoint.instance.id;
    return (req, ctx, next) => {
      sent.set(id, (sent.get(id) ?? 0) + 1);
      return next(req, ctx);
    };
  };
  return { filter, sent: (id: string) => sent.get(id) ?? 0 };
}

// A stopped process cannot renew its lease; a long lease keeps it registered, as a hung
// application whose heartbeat still runs would be, so that the client's policies alone
// must take it out.
const HUNG_REGISTRY: StartRegistryOptions = { ...REGISTRY, leaseTtlMs: 30_000 };

const statusOf = (client: ChaosClient, id: string) =>
  client.$directory.all().find((e) => e.instance.id === id)?.status;

describe('chaos: three instances under load', () => {
  it('SIGKILL of one instance: no idempotent call fails, no non-idempotent call runs twice', async () => {
    const { fleet, instances, connect } = await setup();
    const [, victim] = instances;
    const client = await connect(); // the default stack: budgeted retry, endpoint breaker, outlier ejection
    const chargeCallers = 6;
    const load = startLoad(caller(client), { concurrency: 12, chargeCallers });
    await load.runFor(300);
    expect(load.servedBy(victim!.id)).toBeGreaterThan(0);

    victim!.signal('SIGKILL');
    await until(
      () => !client.$directory.all().some((e) => e.instance.id === victim!.id),
      15_000,
      'the killed instance to leave the directory when its lease lapses',
    );
    await load.runFor(300);
    await load.stop();

    const executions = fleet.executions();
    // Idempotent calls in flight on the killed instance were retried elsewhere.
    expect(describeFailures(load.failures('work'))).toEqual([]);
    // No charge ran twice anywhere, and every successful one ran exactly once.
    const twice = [...executions].filter(([id, n]) => id.startsWith('cc-') && n > 1);
    expect(twice).toEqual([]);
    const charges = load.outcomes.filter((o) => o.method === 'charge');
    expect(charges.filter((o) => !o.error && executions.get(o.id) !== 1).map((o) => o.id)).toEqual([]);
    // The acceptable outcome for a charge in flight on the killed instance: it fails with
    // UNAVAILABLE, mayHaveProcessed true, naming that instance (it may or may not have run,
    // at most once). A charge reported mayHaveProcessed false must not have run anywhere.
    const failed = load.failures('charge');
    const unacceptable = failed.filter((o) =>
      o.error!.mayHaveProcessed
        ? !(o.error!.code === 'UNAVAILABLE' && o.error!.instance === victim!.id)
        : executions.has(o.id),
    );
    expect(describeFailures(unacceptable)).toEqual([]);
    // Only calls in flight at the kill may be lost: at most one per charge caller.
    expect(failed.filter((o) => o.error!.mayHaveProcessed).length).toBeLessThanOrEqual(chargeCallers);
    expect(load.ok).toBeGreaterThanOrEqual(600);
  }, 40_000);

  async function hungInstance(policies: ClientOptions['policies']) {
    const { instances, connect } = await setup({ registry: HUNG_REGISTRY });
    const [, , hung] = instances;
    const counter = sentCounter();
    const client = await connect({ policies, endpointFilters: [counter.filter] });
    const ejections: EjectEvent[] = [];
    const breaks: BreakEvent[] = [];
    client.$events.onEject!((e) => ejections.push(e));
    client.$events.onBreak!((e) => breaks.push(e));
    const load = startLoad(caller(client), { concurrency: 12 });
    await load.runFor(300);
    expect(counter.sent(hung!.id)).toBeGreaterThan(0);
    hung!.signal('SIGSTOP');
    return { hung: hung!, client, counter, load, ejected: () => [...ejections, ...breaks] };
  }

  async function expectHungInstanceShunned(
    { hung, client, counter, load, ejected }: Awaited<ReturnType<typeof hungInstance>>,
    ejectWithinMs: number,
  ) {
    await until(
      () => statusOf(client, hung.id) === 'ejected',
      ejectWithinMs,
      'the hung instance to be ejected',
    );
    expect(ejected().some((e) => e.instance === hung.id)).toBe(true);
    const sentAtEjection = counter.sent(hung.id);
    await load.runFor(400);
    await load.stop();
    // Ejected for the outlier's 30 s, or by the breaker for 5 s: either way at most the
    // breaker's 3 half-open probes may reach it within this window.
    expect(counter.sent(hung.id) - sentAtEjection).toBeLessThanOrEqual(3);
    // Tolerance: at least 99 % of calls succeed (observed: all of them).
    const failures = load.failures();
    expect(failures.length, describeFailures(failures).join('\n')).toBeLessThanOrEqual(
      Math.floor(load.outcomes.length / 100),
    );
  }

  it('SIGSTOP of one instance: calls complete through attempt timeouts and retry, the hung instance is ejected', async () => {
    // A user with a latency objective: 3 s per call, 300 ms per attempt, the default retry.
    const run = await hungInstance({ totalTimeoutMs: 3_000, attemptTimeoutMs: 300 });
    await expectHungInstanceShunned(run, 20_000);
  }, 40_000);

  // Hedging cancels the attempt on the hung instance once the backup wins. Such a loser ran
  // past the hedge delay, so it is cancelled with a reason (abandonedAsSlow) that the outlier
  // detector and the endpoint breaker count as a failure of that instance; before, they
  // counted it as neither and the hung instance was never ejected.
  it('SIGSTOP of one instance with hedging: the hung instance is ejected', async () => {
    const run = await hungInstance({ totalTimeoutMs: 3_000, attemptTimeoutMs: 300, hedge: true });
    await expectHungInstanceShunned(run, 10_000);
  }, 40_000);

  // Connection.close() half-closes and used to wait without bound for the peer to close its
  // side, which a SIGSTOPped process never does; now the socket is destroyed after a linger.
  it('client.close() returns while an instance is hung', async () => {
    const { instances, connect } = await setup({ registry: HUNG_REGISTRY });
    const client = await connect();
    for (let n = 0; n < 30; n++) await client.work({ id: `w-${n}` }, { timeoutMs: 5_000 });
    instances[2]!.signal('SIGSTOP');
    const closed = await Promise.race([
      client.close().then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000)),
    ]);
    expect(closed).toBe(true);
  }, 30_000);

  it('an instance returning errors: its breaker opens, and closes again once it recovers', async () => {
    const { instances, connect } = await setup();
    const [, flaky] = instances;
    // The default outlier detector would eject the instance after 5 failures in a row, for
    // 30 s, before the breaker saw its minimum of calls; this client relies on the breaker.
    const client = await connect({
      policies: { breaker: { window: { size: 20 }, minimumCalls: 10, openMs: 1_000 }, outlier: false },
    });
    const breaks: BreakEvent[] = [];
    const resets: BreakerStateEvent[] = [];
    client.$events.onBreak!((e) => breaks.push(e));
    client.$events.onReset!((e) => resets.push(e));
    const load = startLoad(caller(client), { concurrency: 8 });
    await load.runFor(200);

    await flaky!.setFailing(true);
    await until(() => breaks.some((e) => e.instance === flaky!.id), 15_000, 'the breaker to open');
    expect(resets.some((e) => e.instance === flaky!.id)).toBe(false);
    const servedWhileFailing = load.servedBy(flaky!.id);

    await flaky!.setFailing(false);
    await until(() => resets.some((e) => e.instance === flaky!.id), 20_000, 'the breaker to close');
    expect(statusOf(client, flaky!.id)).toBe('open');
    await until(
      () => load.servedBy(flaky!.id) >= servedWhileFailing + 20,
      15_000,
      'the recovered instance to serve calls again',
    );
    await load.stop();
    // Its failures were all retried on the healthy instances.
    expect(describeFailures(load.failures())).toEqual([]);
  }, 40_000);

  it('the registry goes down and comes back: calls continue, the client keeps its set, then resynchronises', async () => {
    const { state, fleet, instances, connect } = await setup();
    const port = state.registry.port;
    const client = await connect();
    const known = instances.map((i) => i.id).sort();
    let smallest = client.$directory.all().length;
    const sampler = setInterval(() => {
      smallest = Math.min(smallest, client.$directory.all().length);
    }, 20);
    cleanup.push(async () => clearInterval(sampler));
    const load = startLoad(caller(client), { concurrency: 8, chargeCallers: 4 });
    await load.runFor(200);

    await state.registry.close();
    // Stay down past the lease TTL, so that an expiry seen by the client would show.
    await new Promise((resolve) => setTimeout(resolve, 2 * REGISTRY.leaseTtlMs!));
    await load.runFor(200);
    expect(
      client.$directory
        .all()
        .map((e) => e.instance.id)
        .sort(),
    ).toEqual(known);
    expect(client.$directory.all().every((e) => e.status === 'open')).toBe(true);

    state.registry = await startRegistry({ ...REGISTRY, port });
    await until(() => state.registry.store.list('chaos').length === 3, 10_000, 'instances to re-register');
    const late = await fleet.start('d');
    await until(
      () => client.$directory.all().some((e) => e.instance.id === late.id),
      15_000,
      'the client to discover an instance started after the restart',
    );
    await until(() => load.servedBy(late.id) >= 20, 15_000, 'the new instance to serve calls');
    await load.stop();
    clearInterval(sampler);

    expect(describeFailures(load.failures())).toEqual([]);
    expect(smallest).toBeGreaterThanOrEqual(3);
    expect(
      client.$directory
        .all()
        .map((e) => e.instance.id)
        .sort(),
    ).toEqual([...known, late.id].sort());
    const twice = [...fleet.executions()].filter(([id, n]) => id.startsWith('cc-') && n > 1);
    expect(twice).toEqual([]);
  }, 45_000);

  it('overload: adaptive concurrency sheds with RESOURCE_EXHAUSTED, work in progress and memory stay bounded', async () => {
    const maxLimit = 40;
    // One instance whose work needs one of 4 slots of a backing resource, 5 ms each: queueing
    // there shows up as latency, which the adaptive limit reacts to.
    const { instances, connect } = await setup({
      env: [{ CHAOS_SHED_MAX: String(maxLimit), CHAOS_CAPACITY: '4', CHAOS_WORK_MS: '5' }],
    });
    const [server] = instances;
    const good = await connect();
    // A flood from a client with no policies at all: 300 callers that resend at once.
    const flooder = await connect({ policies: false });
    const polite = startLoad(caller(good), { concurrency: 4, prefix: 'g' });
    await polite.runFor(50);
    const before = await server!.stats();

    const flood = startLoad(caller(flooder), {
      concurrency: 300,
      prefix: 'f',
      job: { pad: 'x'.repeat(1024) },
    });
    await until(() => flood.failures().length >= 3_000, 30_000, 'the flood to be shed 3,000 times');
    const politeOkBefore = polite.ok;
    await polite.runFor(30, 30_000);
    expect(polite.ok).toBeGreaterThan(politeOkBefore);
    await flood.stop();
    await polite.stop();
    const stats = await server!.stats();

    expect(stats.shed).toBeGreaterThanOrEqual(3_000);
    // 300 callers offered, never more than the limit admitted: no unbounded queue.
    expect(stats.handlersPeak).toBeLessThanOrEqual(maxLimit);
    expect(stats.limit).toBeLessThanOrEqual(maxLimit);
    expect(flood.ok).toBeGreaterThan(0);
    // Refusals are fast and say the call never ran, so a client may retry them anywhere.
    const floodErrors = new Set(flood.failures().map((o) => `${o.error!.code}/${o.error!.mayHaveProcessed}`));
    expect([...floodErrors]).toEqual(['RESOURCE_EXHAUSTED/false']);
    // Well-behaved calls got answers: successes, or a refusal after the client's budgeted retries.
    const politeErrors = new Set(
      polite.failures().map((o) => `${o.error!.code}/${o.error!.mayHaveProcessed}`),
    );
    expect([...politeErrors].filter((e) => e !== 'RESOURCE_EXHAUSTED/false')).toEqual([]);
    // Admitted work is bounded, so is memory: 300 queued 1 KiB calls would not show, but a
    // queue growing with a flood would; 64 MiB is far above what the admitted calls hold.
    expect(stats.heapPeak - before.heapBaseline).toBeLessThan(64 * 1024 * 1024);
  }, 60_000);
});
