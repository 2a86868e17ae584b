import { createEmitter, type Disposable, disposable, type Emitter } from '../core/events.js';
import { type Instance, type InstanceInput, type InstanceStatus, normalizeInstance } from './instance.js';
import type { Registration, Registry } from './registry.js';

/**
 * In-process state shared by any number of `memoryRegistry` clients, so one test can
 * play several processes: closing one client stops its renewals and its leases lapse.
 */
export interface MemoryStore {
  put(instance: Instance, ttlMs: number): void;
  /** False when the lease is gone (expired or removed). */
  renew(service: string, id: string, ttlMs: number): boolean;
  setStatus(service: string, id: string, status: InstanceStatus): boolean;
  remove(service: string, id: string): void;
  list(service: string): readonly Instance[];
  services(): string[];
  subscribe(service: string, onChange: (set: readonly Instance[]) => void): Disposable;
  /** Drops leases past their deadline; runs on a timer too, call it directly with a fake clock. */
  sweep(): void;
  close(): void;
}

export interface MemoryStoreOptions {
  now?: () => number;
  /** How often expired leases are swept; default 100 ms. */
  sweepIntervalMs?: number;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const now = options.now ?? Date.now;
  const leases = new Map<string, Map<string, { instance: Instance; expiresAt: number }>>();
  const emitters = new Map<string, Emitter<readonly Instance[]>>();

  const list = (service: string): readonly Instance[] =>
    Object.freeze(
      [...(leases.get(service)?.values() ?? [])].map((l) => l.instance).sort((a, b) => cmp(a.id, b.id)),
    );
  const changed = (service: string) => emitters.get(service)?.emit(list(service));
  const drop = (service: string, id: string) => {
    const byId = leases.get(service);
    if (!byId?.delete(id)) return;
    if (byId.size === 0) leases.delete(service);
    changed(service);
  };

  const sweep = () => {
    const t = now();
    for (const [service, byId] of leases) {
      for (const [id, lease] of byId) if (lease.expiresAt <= t) drop(service, id);
    }
  };
  const timer = setInterval(sweep, options.sweepIntervalMs ?? 100);
  timer.unref();

  return {
    put(instance, ttlMs) {
      let byId = leases.get(instance.service);
      if (!byId) leases.set(instance.service, (byId = new Map()));
      const prior = byId.get(instance.id)?.instance;
      const kept = prior ? { ...instance, registeredAt: prior.registeredAt } : instance;
      byId.set(instance.id, { instance: kept, expiresAt: now() + ttlMs });
      changed(instance.service);
    },
    renew(service, id, ttlMs) {
      const lease = leases.get(service)?.get(id);
      if (!lease) return false;
      lease.expiresAt = now() + ttlMs;
      return true;
    },
    setStatus(service, id, status) {
      const lease = leases.get(service)?.get(id);
      if (!lease) return false;
      if (lease.instance.status !== status) {
        lease.instance = { ...lease.instance, status };
        changed(service);
      }
      return true;
    },
    remove: drop,
    list,
    services: () => [...leases.keys()].sort(),
    subscribe(service, onChange) {
      let emitter = emitters.get(service);
      if (!emitter) emitters.set(service, (emitter = createEmitter()));
      const sub = emitter.event(onChange);
      // Deliver the current set asynchronously, like every networked backend does.
      let live = true;
      queueMicrotask(() => live && onChange(list(service)));
      return disposable(() => {
        live = false;
        sub.dispose();
        if (emitter.size === 0) emitters.delete(service);
      });
    },
    sweep,
    close: () => clearInterval(timer),
  };
}

export interface MemoryRegistryOptions {
  /** Lease TTL; default 10 s. Renewals run every ttlMs / 3. */
  ttlMs?: number;
  now?: () => number;
  /** Share a store between clients; default: a private one. */
  store?: MemoryStore;
}

/** A Registry living in this process: for tests and single-process apps. */
export function memoryRegistry(options: MemoryRegistryOptions = {}): Registry {
  const ttlMs = options.ttlMs ?? 10_000;
  const now = options.now ?? Date.now;
  const ownStore = options.store === undefined;
  const store = options.store ?? createMemoryStore({ now });
  const mine = new Map<string, Instance>(); // key service\0id → latest instance we registered
  const subs = new Set<Disposable>();
  let closed = false;

  // A lost lease (e.g. expired while the event loop was blocked) is put back, as the
  // networked backends re-register after losing theirs.
  const renewAll = () => {
    for (const inst of mine.values()) {
      if (!store.renew(inst.service, inst.id, ttlMs)) store.put(inst, ttlMs);
    }
  };
  const timer = setInterval(renewAll, Math.max(10, Math.floor(ttlMs / 3)));
  timer.unref();

  const assertOpen = () => {
    if (closed) throw new Error('registry client is closed');
  };

  return {
    async register(input: InstanceInput): Promise<Registration> {
      assertOpen();
      let instance = normalizeInstance(input, now());
      const key = `${instance.service}\0${instance.id}`;
      mine.set(key, instance);
      store.put(instance, ttlMs);
      return {
        get instance() {
          return instance;
        },
        async setStatus(status) {
          assertOpen();
          instance = { ...instance, status };
          // After deregister the instance is gone for good; a status change must not revive it.
          if (!mine.has(key)) return;
          mine.set(key, instance);
          if (!store.setStatus(instance.service, instance.id, status)) store.put(instance, ttlMs);
        },
        async deregister() {
          if (!mine.delete(key)) return;
          store.remove(instance.service, instance.id);
        },
      };
    },
    watch(service, onChange) {
      assertOpen();
      const sub = store.subscribe(service, onChange);
      subs.add(sub);
      return disposable(() => {
        subs.delete(sub);
        sub.dispose();
      });
    },
    async services() {
      return store.services();
    },
    async instances(service) {
      return [...store.list(service)];
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      for (const sub of subs) sub.dispose();
      subs.clear();
      mine.clear();
      if (ownStore) store.close();
    },
  };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
