import { type ChildProcess, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { embeddedRegistry } from '../src/registry/embedded/client.js';
import { startRegistry } from '../src/registry/embedded/server.js';
import type { Instance } from '../src/registry/instance.js';
import type { Registry } from '../src/registry/registry.js';
import { quantiles } from './registry-propagation.js';
import { saveResults } from './save-results.js';

/**
 * Embedded registry at scale, in three processes: the registry (so its memory and CPU are
 * its own), a fleet of N instances renewing every 3 s, and this one with W watching
 * clients, each with its own SSE stream. Measures: time for one change to reach every
 * watcher, renewal throughput (steady and saturated), and the registry's memory.
 */

const self = fileURLToPath(import.meta.url);

/** Runs this file in a child process in `mode`; resolves with what it prints after `marker`. */
async function startChild(args: string[], marker: string): Promise<{ value: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', self, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const value = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${args[0]} process exited with ${code}`)));
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (line: string) => {
      const m = new RegExp(`${marker} (\\S+)`).exec(line);
      if (m) resolve(m[1]!);
    });
  });
  return { value, child };
}

/** The renewing fleet, in its own process so its HTTP client work does not slow the watchers. */
async function renewers(url: string, instances: number) {
  const owners = Array.from({ length: Math.ceil(instances / 100) }, () => embeddedRegistry({ url }));
  const t0 = performance.now();
  for (let batch = 0; batch < instances; batch += 500) {
    const slice = Array.from({ length: Math.min(500, instances - batch) }, (_, k) => batch + k);
    await Promise.all(
      slice.map((i) =>
        owners[i % owners.length]!.register({
          service: `svc-${i % 50}`,
          id: `n${i}`,
          address: `10.${(i >> 8) & 255}.${i & 255}.1:80`,
        }),
      ),
    );
  }
  console.log(`registered ${((performance.now() - t0) / 1000).toFixed(2)}`);
}

const health = async (url: string) => (await fetch(`${url}/v1/health`)).json() as Promise<any>;

/** Saturated renewals: `concurrency` keep-alive connections renewing as fast as they can. */
async function renewFlood(url: string, service: string, ids: string[], ms: number, concurrency = 64) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const end = performance.now() + ms;
  let done = 0;
  const worker = async (w: number) => {
    for (let i = w; performance.now() < end; i += concurrency) {
      await new Promise<void>((resolve, reject) => {
        const req = request(`${url}/v1/services/${service}/instances/${ids[i % ids.length]}/renew`, {
          method: 'PUT',
          agent,
          headers: { 'content-length': 0 },
        });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('error', reject);
        req.end();
      });
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  agent.destroy();
  return Math.round(done / (ms / 1000));
}

export async function run(options: { quick?: boolean } = {}) {
  const instances = options.quick ? 1000 : 10_000;
  const watchers = options.quick ? 50 : 500;
  const trials = options.quick ? 10 : 30;
  const registry = await startChild(['--serve'], 'listening');
  const url = registry.value;
  const children = [registry.child];
  const writer = embeddedRegistry({ url });
  const readers: Registry[] = [];
  try {
    const before = await health(url);
    const fleet = await startChild(['--renew', url, String(instances)], 'registered');
    children.push(fleet.child);
    const registerSeconds = Number(fleet.value);

    // W watching clients of one hot service, each with its own connection.
    const seen: (readonly Instance[])[] = [];
    let pending: { id: string; left: number; done: () => void } | undefined;
    for (let w = 0; w < watchers; w++) {
      const r = embeddedRegistry({ url });
      readers.push(r);
      r.watch('hot', (set) => {
        seen[w] = set;
        if (pending && set.some((i) => i.id === pending!.id) && --pending.left === 0) pending.done();
      });
    }
    const start = performance.now();
    while (seen.filter(Boolean).length < watchers && performance.now() - start < 30_000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const fanout: number[] = [];
    for (let t = 0; t < trials; t++) {
      const id = `hot-${t}`;
      const reached = new Promise<void>((resolve) => (pending = { id, left: watchers, done: resolve }));
      const t1 = performance.now();
      await writer.register({ service: 'hot', id, address: `127.0.0.1:${30_000 + t}` });
      await reached;
      fanout.push(performance.now() - t1);
    }

    // Steady renewals: count what the registry received over 9 s (three renew intervals).
    const h1 = await health(url);
    await new Promise((r) => setTimeout(r, 9000));
    const h2 = await health(url);
    const steadyRenewalsPerSec = Math.round((h2.renewals - h1.renewals) / 9);
    const saturatedRenewalsPerSec = await renewFlood(
      url,
      'svc-0',
      Array.from({ length: 200 }, (_, k) => `n${k * 50}`),
      3000,
    );
    const after = await health(url);

    const result = {
      instances,
      watchers,
      registerSeconds: Math.round(registerSeconds * 100) / 100,
      fanoutToAllWatchersMs: quantiles(fanout),
      steadyRenewalsPerSec,
      saturatedRenewalsPerSec,
      registry: {
        instances: after.instances,
        subscribers: after.subscribers,
        selfPreservation: after.selfPreservation,
        rssMiB: Math.round(after.memory.rssBytes / 2 ** 20),
        heapUsedMiB: Math.round(after.memory.heapUsedBytes / 2 ** 20),
        heapGrowthMiB: Math.round((after.memory.heapUsedBytes - before.memory.heapUsedBytes) / 2 ** 20),
      },
    };
    console.log(
      `\nEmbedded registry: ${instances} instances renewing every 3 s, ${watchers} watching clients`,
    );
    console.table({
      'one change → all watchers, p50 (ms)': result.fanoutToAllWatchersMs.p50,
      'one change → all watchers, p99 (ms)': result.fanoutToAllWatchersMs.p99,
      'steady renewals/s': steadyRenewalsPerSec,
      'saturated renewals/s (64 conns)': saturatedRenewalsPerSec,
      'registry RSS (MiB)': result.registry.rssMiB,
      'registry heap growth (MiB)': result.registry.heapGrowthMiB,
    });
    saveResults('registry-scale', result);
    return result;
  } finally {
    await Promise.allSettled([...readers, writer].map((r) => r.close()));
    for (const c of children) c.kill();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--serve')) {
    const server = await startRegistry({ warmupMs: 0, maxSubscribers: 20_000 });
    console.log(`listening ${server.url}`);
    process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
  } else if (process.argv.includes('--renew')) {
    const i = process.argv.indexOf('--renew');
    await renewers(process.argv[i + 1]!, Number(process.argv[i + 2]));
    // Renewal timers are unref'd (a client never holds a process open); this one must stay up.
    setInterval(() => {}, 60_000);
  } else {
    await run({ quick: process.argv.includes('--quick') });
  }
}
