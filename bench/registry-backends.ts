import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { etcdRegistry } from '../src/registry/etcd.js';
import type { Instance } from '../src/registry/instance.js';
import type { Registry } from '../src/registry/registry.js';
import {
  etcdAvailability,
  startEtcd,
  startZooKeeper,
  type TestServer,
  zookeeperAvailability,
} from '../src/registry/test-servers.js';
import { zookeeperRegistry } from '../src/registry/zookeeper.js';
import { saveResults } from './save-results.js';

/**
 * Propagation through real etcd and ZooKeeper servers: from the start of `register()`
 * on one client to the instance appearing in another client's watch, and from the
 * start of `deregister()` to it disappearing. Each client has its own connection.
 */

interface Summary {
  trials: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}
interface BackendResult {
  register: Summary;
  deregister: Summary;
}
interface Backend {
  name: string;
  available: () => boolean;
  start: () => Promise<TestServer>;
  client: (endpoint: string) => Registry;
}

const silent = { warn: () => {} };
const backends: Backend[] = [
  {
    name: 'etcd',
    available: () => etcdAvailability().available,
    start: startEtcd,
    client: (hosts) => etcdRegistry({ hosts, ttlMs: 5000, logger: silent }),
  },
  {
    name: 'zookeeper',
    available: () => zookeeperAvailability().available,
    start: startZooKeeper,
    client: (connectionString) =>
      zookeeperRegistry({ connectionString, sessionTimeoutMs: 5000, logger: silent }),
  },
];

function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    trials: sorted.length,
    p50: round(at(0.5)),
    p99: round(at(0.99)),
    max: round(sorted.at(-1) ?? Number.NaN),
    mean: round(sorted.reduce((s, x) => s + x, 0) / sorted.length),
  };
}

/** Resolves when the watched set satisfies `pred`; times out so a stuck backend cannot hang the bench. */
function watcher(registry: Registry, service: string) {
  let current: readonly Instance[] | undefined;
  let waiting: { pred: (s: readonly Instance[]) => boolean; resolve: () => void } | undefined;
  const sub = registry.watch(service, (set) => {
    current = set;
    if (waiting?.pred(set)) waiting.resolve();
  });
  return {
    until(pred: (s: readonly Instance[]) => boolean, timeoutMs = 10_000): Promise<void> {
      if (current && pred(current)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${service}: no matching watch event`)), timeoutMs);
        waiting = {
          pred,
          resolve: () => {
            clearTimeout(timer);
            waiting = undefined;
            resolve();
          },
        };
      });
    },
    dispose: () => sub.dispose(),
  };
}

async function measure(backend: Backend, trials: number, warmup: number): Promise<BackendResult> {
  const server = await backend.start();
  const writer = backend.client(server.endpoint);
  const reader = backend.client(server.endpoint);
  const service = `bench-${process.pid}`;
  const watch = watcher(reader, service);
  const up: number[] = [];
  const down: number[] = [];
  try {
    await watch.until((s) => s.length === 0);
    for (let i = 0; i < warmup + trials; i++) {
      const id = `i${i}`;
      const has = (s: readonly Instance[]) => s.some((x) => x.id === id);
      let t0 = performance.now();
      const registration = await writer.register({
        service,
        id,
        address: `127.0.0.1:${10_000 + (i % 50_000)}`,
      });
      await watch.until(has);
      if (i >= warmup) up.push(performance.now() - t0);
      t0 = performance.now();
      await registration.deregister();
      await watch.until((s) => !has(s));
      if (i >= warmup) down.push(performance.now() - t0);
    }
  } finally {
    watch.dispose();
    await Promise.allSettled([writer.close(), reader.close()]);
    await server.stop();
  }
  return { register: summarize(up), deregister: summarize(down) };
}

export async function run(options: { quick?: boolean } = {}): Promise<Record<string, BackendResult>> {
  const trials = options.quick ? 40 : 300;
  const results: Record<string, BackendResult> = {};
  for (const backend of backends) {
    if (!backend.available()) {
      console.log(`${backend.name}: not installed, skipped (scripts/services.sh install)`);
      continue;
    }
    results[backend.name] = await measure(backend, trials, 10);
  }
  const rows = Object.entries(results).flatMap(([name, r]) =>
    (['register', 'deregister'] as const).map((kind) => ({ backend: name, change: kind, ...r[kind] })),
  );
  console.log('\nPropagation to a watching client (ms), target p99 < 100 ms');
  console.table(rows);
  saveResults('registry-backends', { trials, unit: 'ms', results });
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run({ quick: process.argv.includes('--quick') });
}
