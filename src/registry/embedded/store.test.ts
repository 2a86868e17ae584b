import { describe, expect, it } from 'vitest';
import { normalizeInstance } from '../instance.js';
import { RegistryStore } from './store.js';

const clock = () => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};
const inst = (id: string, t: number) =>
  normalizeInstance({ service: 'svc', address: `10.0.0.${id}:80`, id }, t);

/** Drives `n` leases, renewing those for which `alive(i)` holds, every renew interval. */
function fleet(store: RegistryStore, c: ReturnType<typeof clock>, n: number) {
  for (let i = 0; i < n; i++) store.register(inst(String(i), c.now()));
  return (ms: number, alive: (i: number) => boolean) => {
    for (let elapsed = 0; elapsed < ms; elapsed += 1000) {
      c.advance(1000);
      for (let i = 0; i < n; i++) if (alive(i)) store.renew('svc', String(i));
    }
  };
}

describe('RegistryStore eviction and self-preservation', () => {
  it('evicts leases that lapse while most of the fleet keeps renewing', () => {
    const c = clock();
    const store = new RegistryStore({ leaseTtlMs: 5000, renewIntervalMs: 1000, now: c.now });
    const run = fleet(store, c, 20);
    run(20_000, () => true);
    expect(store.evict()).toEqual([]);
    run(6000, (i) => i !== 7); // one of twenty dies: 95 % of renewals still arrive
    expect(store.evict().map((l) => l.instance.id)).toEqual(['7']);
    expect(store.selfPreserving).toBe(false);
    expect(store.size).toBe(19);
  });

  it('stops evicting when renewals collapse, and resumes once they recover', () => {
    const c = clock();
    const store = new RegistryStore({ leaseTtlMs: 5000, renewIntervalMs: 1000, now: c.now });
    const events: boolean[] = [];
    store.onSelfPreservation(({ active }) => events.push(active));
    const run = fleet(store, c, 20);
    run(20_000, () => true);
    run(6000, (i) => i < 10); // half the fleet goes silent at once: looks like a partition
    expect(store.evict()).toEqual([]);
    expect(store.selfPreserving).toBe(true);
    expect(store.size).toBe(20);
    expect(store.renewalRatio()).toBeLessThan(0.85);
    run(20_000, (i) => i < 10 || i >= 12); // most come back; 10 and 11 are really dead
    const evicted = store.evict().map((l) => l.instance.id);
    expect(store.selfPreserving).toBe(false);
    expect(evicted.sort()).toEqual(['10', '11']);
    expect(events).toEqual([true, false]);
  });

  it('stays on while a quarter of the fleet is silent: 75 % of expected renewals is below 85 %', () => {
    const c = clock();
    const store = new RegistryStore({ leaseTtlMs: 5000, renewIntervalMs: 1000, now: c.now });
    const run = fleet(store, c, 20);
    run(20_000, () => true);
    run(20_000, (i) => i < 15);
    expect(store.evict()).toEqual([]);
    expect(store.selfPreserving).toBe(true);
    expect(store.renewalRatio()).toBeLessThan(0.85);
  });

  it('does not engage below minLeases, so a small fleet still loses its dead', () => {
    const c = clock();
    const store = new RegistryStore({ leaseTtlMs: 5000, renewIntervalMs: 1000, now: c.now });
    const run = fleet(store, c, 3);
    run(20_000, () => true);
    run(6000, (i) => i === 0);
    expect(store.evict()).toHaveLength(2);
    expect(store.selfPreserving).toBe(false);
  });

  it('bounds the number of instances and keeps versions increasing', () => {
    const c = clock();
    const store = new RegistryStore({ leaseTtlMs: 5000, renewIntervalMs: 1000, now: c.now, maxInstances: 2 });
    store.register(inst('1', c.now()));
    store.register(inst('2', c.now()));
    expect(() => store.register(inst('3', c.now()))).toThrow(/full/);
    const v = store.version;
    store.register({ ...inst('2', c.now()), status: 'DOWN' });
    expect(store.version).toBe(v + 1);
    expect(store.list('svc').map((i) => i.status)).toEqual(['UP', 'DOWN']);
  });
});
