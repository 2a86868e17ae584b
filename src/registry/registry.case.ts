/**
 * The shared contract every Registry backend passes. A backend's test file calls
 * `registryContract('etcd', harness)`; nothing here knows which backend runs.
 * All waits are polling with a bound, so a broken backend fails instead of hanging.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Disposable } from '../core/events.js';
import type { Instance, InstanceStatus } from './instance.js';
import type { Registration, Registry } from './registry.js';

export interface RegistryHarness {
  /** A fresh client of the backend whose leases expire after about `ttlMs`. */
  create(opts: { ttlMs: number }): Promise<Registry>;
  /** Stops and starts the backend server on the same address; enables the outage tests. */
  restartBackend?(): Promise<void>;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  /** Lease TTL the suite asks for; default 2000 ms (etcd leases have 1 s granularity). */
  ttlMs?: number;
  /** Extra slack for backends that discover by polling (Eureka); default 0. */
  extraLatencyMs?: number;
}

/** Polls `fn` until it returns a truthy value (returned) or throws after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs: number,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Records every emission of a watch so tests can wait on and inspect the history. */
export interface WatchRecorder extends Disposable {
  readonly history: (readonly Instance[])[];
  latest(): readonly Instance[] | undefined;
  until(
    pred: (set: readonly Instance[]) => boolean,
    timeoutMs: number,
    what?: string,
  ): Promise<readonly Instance[]>;
}

export function record(registry: Registry, service: string): WatchRecorder {
  const history: (readonly Instance[])[] = [];
  const sub = registry.watch(service, (set) => history.push(set));
  return {
    history,
    latest: () => history.at(-1),
    until: (pred, timeoutMs, what = `watch on ${service}`) =>
      waitFor<readonly Instance[] | undefined>(
        () => {
          const last = history.at(-1);
          return last && pred(last) ? last : undefined;
        },
        timeoutMs,
        what,
      ) as Promise<readonly Instance[]>,
    dispose: () => sub.dispose(),
    [Symbol.dispose]: () => sub.dispose(),
  };
}

const ids = (set: readonly Instance[]) => set.map((i) => i.id).sort();
const has = (id: string) => (set: readonly Instance[]) => set.some((i) => i.id === id);
const lacks = (id: string) => (set: readonly Instance[]) => !set.some((i) => i.id === id);
const statusOf = (set: readonly Instance[], id: string) => set.find((i) => i.id === id)?.status;

let counter = 0;
/** Unique service names, so a shared backend (etcd, ZooKeeper) never mixes tests. */
const uniqueService = (label: string) =>
  `${label}-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export function registryContract(name: string, harness: RegistryHarness): void {
  const ttlMs = harness.ttlMs ?? 2000;
  const slack = harness.extraLatencyMs ?? 0;
  /** Bound for a change to reach a watcher: generous, since timing is measured in bench/. */
  const changeMs = 5000 + slack;
  /** Bound for an abandoned lease to disappear: TTL plus eviction/session slack. */
  const expireMs = ttlMs * 4 + 5000 + slack;
  const testMs = expireMs + changeMs + 10_000;

  describe(`Registry contract: ${name}`, () => {
    const open: Registry[] = [];
    const watches: Disposable[] = [];
    const client = async () => {
      const r = await harness.create({ ttlMs });
      open.push(r);
      return r;
    };
    const watch = (r: Registry, service: string) => {
      const rec = record(r, service);
      watches.push(rec);
      return rec;
    };

    beforeAll(async () => harness.setup?.(), 120_000);
    afterAll(async () => harness.teardown?.(), 60_000);
    afterEach(async () => {
      for (const w of watches.splice(0)) w.dispose();
      await Promise.allSettled(open.splice(0).map((r) => r.close()));
    }, 30_000);

    it(
      'register makes the instance visible to instances() and to a watch',
      async () => {
        const r = await client();
        const service = uniqueService('reg');
        const rec = watch(r, service);
        const reg = await r.register({ service, address: '127.0.0.1:7001', id: 'a', zone: 'z1', weight: 3 });
        expect(reg.instance).toMatchObject({ id: 'a', service, address: '127.0.0.1:7001', status: 'UP' });
        const seen = await rec.until(has('a'), changeMs);
        expect(seen.find((i) => i.id === 'a')).toMatchObject({
          service,
          address: '127.0.0.1:7001',
          weight: 3,
          zone: 'z1',
          status: 'UP',
        });
        await waitFor(async () => has('a')(await r.instances(service)), changeMs, 'instances()');
        const listed = (await r.instances(service)).find((i) => i.id === 'a')!;
        expect(listed.registeredAt).toBeGreaterThan(0);
        expect(await r.instances(uniqueService('none'))).toEqual([]);
      },
      testMs,
    );

    it(
      'a watch of an unknown service first reports the empty set',
      async () => {
        const r = await client();
        const rec = watch(r, uniqueService('empty'));
        await rec.until((set) => set.length === 0, changeMs);
        expect(rec.history[0]).toEqual([]);
      },
      testMs,
    );

    it(
      'renewals keep an instance alive past several TTLs',
      async () => {
        const owner = await client();
        const observer = await client();
        const service = uniqueService('renew');
        await owner.register({ service, address: '127.0.0.1:7002', id: 'kept', metadata: { v: '1' } });
        const rec = watch(observer, service);
        await rec.until(has('kept'), changeMs);
        const until = Date.now() + ttlMs * 3;
        while (Date.now() < until) {
          expect(ids(rec.latest()!)).toContain('kept');
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(ids(await observer.instances(service))).toContain('kept');
        expect(rec.history.every(has('kept'))).toBe(true);
      },
      testMs + ttlMs * 3,
    );

    it(
      'an instance whose client stops renewing expires and watchers see it go',
      async () => {
        const owner = await client();
        const observer = await client();
        const service = uniqueService('expire');
        await owner.register({ service, address: '127.0.0.1:7003', id: 'doomed' });
        await observer.register({ service, address: '127.0.0.1:7004', id: 'alive' });
        const rec = watch(observer, service);
        await rec.until((s) => has('doomed')(s) && has('alive')(s), changeMs);
        await owner.close(); // renewals stop, but no deregister is sent
        const after = await rec.until(lacks('doomed'), expireMs, 'expiry of the abandoned lease');
        expect(ids(after)).toEqual(['alive']);
        await waitFor(
          async () => lacks('doomed')(await observer.instances(service)),
          changeMs,
          'instances()',
        );
      },
      testMs,
    );

    it(
      'deregister removes the instance and watchers see it promptly',
      async () => {
        const r = await client();
        const observer = await client();
        const service = uniqueService('dereg');
        const a = await r.register({ service, address: '127.0.0.1:7005', id: 'a' });
        await r.register({ service, address: '127.0.0.1:7006', id: 'b' });
        const rec = watch(observer, service);
        await rec.until((s) => s.length === 2, changeMs);
        await a.deregister();
        await a.deregister(); // idempotent
        const after = await rec.until(lacks('a'), changeMs, 'deregistration');
        expect(ids(after)).toEqual(['b']);
        expect(ids(await r.instances(service))).toEqual(['b']);
      },
      testMs,
    );

    it(
      'watch reports add, update (status) and remove as full sets',
      async () => {
        const r = await client();
        const service = uniqueService('watch');
        const rec = watch(r, service);
        await rec.until((s) => s.length === 0, changeMs);
        const a = await r.register({ service, address: '127.0.0.1:7007', id: 'a', status: 'STARTING' });
        await rec.until((s) => statusOf(s, 'a') === 'STARTING', changeMs, 'add');
        await a.setStatus('UP');
        await rec.until((s) => statusOf(s, 'a') === 'UP', changeMs, 'update');
        const b = await r.register({ service, address: '127.0.0.1:7008', id: 'b' });
        await rec.until((s) => ids(s).join() === 'a,b', changeMs, 'second add');
        await b.deregister();
        await rec.until((s) => ids(s).join() === 'a', changeMs, 'remove');
        expect(b.instance.id).toBe('b');
      },
      testMs,
    );

    it(
      'makes every status visible: UP, DOWN, STARTING, OUT_OF_SERVICE',
      async () => {
        const r = await client();
        const observer = await client();
        const service = uniqueService('status');
        const reg: Registration = await r.register({ service, address: '127.0.0.1:7009', id: 's' });
        const rec = watch(observer, service);
        for (const status of ['DOWN', 'STARTING', 'OUT_OF_SERVICE', 'UP'] as InstanceStatus[]) {
          await reg.setStatus(status);
          await rec.until((s) => statusOf(s, 's') === status, changeMs, `status ${status}`);
          await waitFor(async () => statusOf(await observer.instances(service), 's') === status, changeMs);
        }
        expect(reg.instance.id).toBe('s');
      },
      testMs,
    );

    it(
      'keeps services isolated and lists them',
      async () => {
        const r = await client();
        const [s1, s2, s3] = [uniqueService('iso'), uniqueService('iso'), uniqueService('iso')];
        const rec1 = watch(r, s1);
        const rec3 = watch(r, s3);
        await r.register({ service: s1, address: '127.0.0.1:7010', id: 'one' });
        await r.register({ service: s2, address: '127.0.0.1:7011', id: 'two' });
        await r.register({ service: s2, address: '127.0.0.1:7012', id: 'three' });
        await rec1.until(has('one'), changeMs);
        await waitFor(async () => (await r.instances(s2)).length === 2, changeMs, 'two instances of s2');
        expect(ids(rec1.latest()!)).toEqual(['one']);
        expect(ids(await r.instances(s1))).toEqual(['one']);
        expect(rec3.history.every((s) => s.length === 0)).toBe(true);
        const names = await waitFor(async () => {
          const list = await r.services();
          return list.includes(s1) && list.includes(s2) ? list : undefined;
        }, changeMs);
        expect(names).not.toContain(s3);
      },
      testMs,
    );

    const { restartBackend } = harness;
    it.runIf(restartBackend !== undefined)(
      'survives a backend restart: re-registers, keeps the last set, resumes the watch',
      async () => {
        const owner = await client();
        const observer = await client();
        const service = uniqueService('restart');
        await owner.register({ service, address: '127.0.0.1:7013', id: 'survivor' });
        const rec = watch(observer, service);
        await rec.until(has('survivor'), changeMs);
        const before = rec.history.length;

        await restartBackend!();

        // The registration comes back on its own (lease lost → register again).
        await waitFor(
          async () => {
            const fresh = await harness.create({ ttlMs });
            try {
              return has('survivor')(await fresh.instances(service));
            } finally {
              await fresh.close();
            }
          },
          expireMs,
          're-registration after restart',
        );
        // The watch resumes and sees changes made after the restart. The owner's own connection
        // may still be coming back (the survivor can be visible through a fresh client first, e.g.
        // a ZooKeeper session restored from the server's log), so a write may time out: retry it,
        // as a caller would.
        await waitFor(
          () => {
            const t = Date.now();
            return owner
              .register({ service, address: '127.0.0.1:7014', id: 'newcomer' })
              .then(() => {
                console.log(`DBG newcomer ok after ${Date.now() - t} ms`);
                return true;
              })
              .catch((e) => {
                console.log(`DBG newcomer failed ${(e as Error).message}`);
                throw e;
              });
          },
          60_000,
          'a registration after restart',
        );
        await rec.until((s) => has('newcomer')(s) && has('survivor')(s), expireMs, 'watch after restart');
        // Nothing during the outage emptied the set or dropped the surviving instance.
        for (const set of rec.history.slice(before)) expect(ids(set)).toContain('survivor');
      },
      120_000,
    );
  });
}
