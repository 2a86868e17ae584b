import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore, type MemoryStore, memoryRegistry } from './memory.js';
import { registryContract } from './registry.case.js';

let shared: MemoryStore | undefined;
registryContract('memory', {
  ttlMs: 600,
  setup: async () => {
    shared = createMemoryStore({ sweepIntervalMs: 20 });
  },
  teardown: async () => shared?.close(),
  create: async ({ ttlMs }) => memoryRegistry({ ttlMs, store: shared! }),
});

describe('memoryRegistry with a fake clock', () => {
  const stores: MemoryStore[] = [];
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
  });

  it('expires a lease exactly when the clock passes its TTL', async () => {
    let t = 1_000;
    const now = () => t;
    const store = createMemoryStore({ now, sweepIntervalMs: 60_000 });
    stores.push(store);
    const owner = memoryRegistry({ ttlMs: 500, now, store });
    const reg = await owner.register({ service: 'svc', address: '10.0.0.1:80' });
    expect(reg.instance.registeredAt).toBe(1_000);
    await owner.close();
    t += 499;
    store.sweep();
    expect(store.list('svc').map((i) => i.id)).toEqual(['10.0.0.1:80']);
    t += 1;
    store.sweep();
    expect(store.list('svc')).toEqual([]);
    expect(store.services()).toEqual([]);
  });

  it('keeps registeredAt across re-registration of the same id', async () => {
    let t = 5;
    const store = createMemoryStore({ now: () => t });
    stores.push(store);
    const r = memoryRegistry({ now: () => t, store });
    await r.register({ service: 's', address: 'h:1', id: 'x' });
    t = 50;
    await r.register({ service: 's', address: 'h:2', id: 'x' });
    expect(store.list('s')[0]).toMatchObject({ address: 'h:2', registeredAt: 5 });
    await r.close();
  });

  it('a status change after deregister does not bring the instance back', async () => {
    const r = memoryRegistry();
    const reg = await r.register({ service: 's', address: 'h:1', id: 'x' });
    await reg.deregister();
    await reg.setStatus('DOWN');
    expect(await r.instances('s')).toEqual([]);
    await r.close();
  });

  it('refuses work after close and rejects a malformed address', async () => {
    const r = memoryRegistry();
    await expect(r.register({ service: 's', address: 'nope' })).rejects.toThrow(/host:port/);
    await r.close();
    await expect(r.register({ service: 's', address: 'h:1' })).rejects.toThrow(/closed/);
  });
});
