import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { embeddedRegistry } from '../src/registry/embedded/client.js';
import { startRegistry } from '../src/registry/embedded/server.js';
import type { Instance } from '../src/registry/instance.js';
import { createMemoryStore, memoryRegistry } from '../src/registry/memory.js';
import type { Registry } from '../src/registry/registry.js';
import { saveResults } from './save-results.js';

/**
 * Propagation: from the start of `register()` on one client to the instance appearing in
 * another client's watch, and from the start of `deregister()` to it disappearing.
 * `measurePropagation` takes any Registry factory, so other backends plug in unchanged.
 */

export interface Quantiles {
  trials: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
export interface PropagationResult {
  backend: string;
  register: Quantiles;
  deregister: Quantiles;
}

export function quantiles(samples: readonly number[]): Quantiles {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) =>
    round(s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? Number.NaN);
  return { trials: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: round(s.at(-1) ?? Number.NaN) };
}
const round = (x: number) => Math.round(x * 1000) / 1000;

/** Resolves as soon as the watched set satisfies the predicate (event-driven, not polled). */
function observe(registry: Registry, service: string) {
  let current: readonly Instance[] | undefined;
  let pending: { pred: (s: readonly Instance[]) => boolean; done: () => void } | undefined;
  const sub = registry.watch(service, (set) => {
    current = set;
    if (pending?.pred(set)) pending.done();
  });
  const until = (pred: (s: readonly Instance[]) => boolean, timeoutMs = 10_000) =>
    current && pred(current)
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no matching set for ${service}`)), timeoutMs);
          pending = {
            pred,
            done: () => {
              clearTimeout(timer);
              pending = undefined;
              resolve();
            },
          };
        });
  return { until, dispose: () => sub.dispose() };
}

/** Measures with a writer and a separate watching client, both from `factory`. */
export async function measurePropagation(
  backend: string,
  factory: () => Promise<Registry> | Registry,
  { trials = 500, warmup = 20 } = {},
): Promise<PropagationResult> {
  const writer = await factory();
  const reader = await factory();
  const service = `prop-${process.pid}-${Date.now()}`;
  const watch = observe(reader, service);
  const up: number[] = [];
  const down: number[] = [];
  try {
    await watch.until((s) => s.length === 0);
    for (let i = 0; i < warmup + trials; i++) {
      const id = `i${i}`;
      const has = (s: readonly Instance[]) => s.some((x) => x.id === id);
      let t0 = performance.now();
      const reg = await writer.register({ service, id, address: `127.0.0.1:${20_000 + (i % 40_000)}` });
      await watch.until(has);
      if (i >= warmup) up.push(performance.now() - t0);
      t0 = performance.now();
      await reg.deregister();
      await watch.until((s) => !has(s));
      if (i >= warmup) down.push(performance.now() - t0);
    }
  } finally {
    watch.dispose();
    await Promise.allSettled([writer.close(), reader.close()]);
  }
  return { backend, register: quantiles(up), deregister: quantiles(down) };
}

export async function run(options: { quick?: boolean } = {}): Promise<PropagationResult[]> {
  const trials = options.quick ? 50 : 1000;
  const results: PropagationResult[] = [];

  const store = createMemoryStore();
  results.push(await measurePropagation('memory', () => memoryRegistry({ store }), { trials }));
  store.close();

  const server = await startRegistry({ warmupMs: 0 });
  try {
    results.push(
      await measurePropagation('embedded', () => embeddedRegistry({ url: server.url }), { trials }),
    );
  } finally {
    await server.close();
  }

  console.log('\nRegistry propagation to a watching client (ms); target p99 < 100 ms');
  console.table(
    results.flatMap((r) =>
      (['register', 'deregister'] as const).map((c) => ({ backend: r.backend, change: c, ...r[c] })),
    ),
  );
  saveResults('registry-propagation', { unit: 'ms', trials, results });
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run({ quick: process.argv.includes('--quick') });
}
