import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, getPriority, loadavg, setPriority } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { roundRobin } from '../src/balance/index.js';
import { createClient } from '../src/client/client.js';
import { ALGORITHMS, type Algorithm, CLIENT_ZONE } from './balance/algorithms.js';
import { Work } from './balance/contract.js';
import { type Fleet, type FleetOptions, startFleet } from './balance/fleet.js';
import { closedLoop, type QualityLoadResult } from './balance/load.js';
import { killAll } from './rpc/ipc.js';
import { median } from './rpc/stats.js';
import { fixed, formatTable, thousands } from './rpc/table.js';

/**
 * Balancing quality: 5 real server processes, one of them `slowFactor`× slower, and the same
 * closed-loop load through each algorithm. The client has an explicit balancer and no
 * policies (`policies: false`: no retry, breaker, outlier ejection or hedging), so what is
 * measured is the balancer alone, fed by the load tracking the client always installs.
 * Target: P2C peak-EWMA p99 at least 5× lower than round-robin.
 *
 * `npm run bench -- balance-quality [--repeat=3] [--seconds=5] [--warmup=2] [--concurrency=32]
 * [--slow-factor=10] [--latency-ms=2] [--instance-concurrency=4] [--instances=5] [--keys=1000]
 * [--algorithms=round-robin,p2c-ewma] [--priority=-10] [--out=path] [--quick]`
 */

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');

export interface QualityOptions extends FleetOptions {
  /** Calls in flight from the client (closed loop). */
  clientConcurrency: number;
  warmupSeconds: number;
  seconds: number;
  /** Runs of every algorithm, interleaved; the table shows medians. */
  repeat: number;
  /** Distinct consistent-hash keys, drawn uniformly per call. */
  keys: number;
  algorithms: readonly Algorithm[];
  out: string | undefined;
  quick: boolean;
}

/** Seconds of round-robin load before the first run, so no algorithm pays for cold servers. */
const FLEET_WARMUP_SECONDS = 3;

export interface QualityRun extends QualityLoadResult {
  /** 1-minute load average when the run started. */
  loadAverage: number;
  /** What the balancer saw at the end: per instance, peak EWMA and average latency (ms). */
  endpointLoad: Record<string, { peakEwmaMs: number; avgLatencyMs: number }>;
}

export interface QualityRow {
  algorithm: string;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** Share of calls served by the slow instance. */
  slowShare: number;
  /** Share of calls per instance id. */
  shares: Record<string, number>;
  /** Median round-robin p99 ÷ this algorithm's median p99. */
  rrP99Ratio: number;
  runs: QualityRun[];
}

export function parseQualityOptions(argv: readonly string[]): QualityOptions {
  const flag = (name: string): string | undefined => {
    const hit = argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (hit === undefined) return undefined;
    return hit.includes('=') ? hit.slice(hit.indexOf('=') + 1) : 'true';
  };
  const quick = argv.includes('--quick');
  const num = (name: string, fallback: number): number => {
    const raw = flag(name);
    const n = raw === undefined ? fallback : Number(raw);
    if (!(n > 0) || !Number.isFinite(n))
      throw new TypeError(`--${name} must be a positive number, got ${raw}`);
    return n;
  };
  const names = flag('algorithms')
    ?.split(',')
    .map((s) => s.trim());
  const algorithms = names ? names.map(byName) : [...ALGORITHMS];
  if (!algorithms.some((a) => a.name === 'round-robin')) algorithms.unshift(byName('round-robin'));
  const out = flag('out');
  const instances = Math.round(num('instances', 5));
  if (instances < 2) throw new TypeError('--instances must be at least 2');
  return {
    instances,
    latencyMs: num('latency-ms', 2),
    concurrency: Math.round(num('instance-concurrency', 4)),
    slowFactor: num('slow-factor', 10),
    // The slow instance (index 0) shares the client's zone with two fast ones.
    zones: [CLIENT_ZONE, CLIENT_ZONE, CLIENT_ZONE, 'z2'],
    clientConcurrency: Math.round(num('concurrency', 32)),
    // At least one EWMA time constant (10 s): the first replies of a new client carry
    // connection set-up and cold code, and peak EWMA forgets them only over ~τ·ln(spike/latency).
    warmupSeconds: num('warmup', quick ? 1 : 10),
    seconds: num('seconds', quick ? 2 : 5),
    repeat: Math.round(num('repeat', 1)),
    keys: Math.round(num('keys', 1000)),
    algorithms: [...algorithms],
    ...(flag('priority') === undefined ? {} : { priority: niceValue(flag('priority')!) }),
    // A quick smoke run must not overwrite the committed results.
    quick,
    out: out ?? (quick ? undefined : join(repo, 'bench/results/balance-quality.json')),
  };
}

function niceValue(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < -20 || n > 19)
    throw new TypeError(`--priority must be an integer in -20..19, got ${raw}`);
  return n;
}

function byName(name: string): Algorithm {
  const hit = ALGORITHMS.find((a) => a.name === name);
  if (!hit)
    throw new TypeError(`unknown algorithm ${name}; known: ${ALGORITHMS.map((a) => a.name).join(', ')}`);
  return hit;
}

async function measure(fleet: Fleet, algorithm: Algorithm, options: QualityOptions): Promise<QualityRun> {
  const ids = fleet.members.map((m) => m.id);
  const slowId = fleet.members.find((m) => m.slow)!.id;
  const registry = algorithm.only ? await fleet.subset(algorithm.only(ids, slowId)) : fleet.registry;
  // A fresh client per run: no load history carries over from the previous algorithm.
  const client = createClient(Work, { registry, balancer: algorithm.balancer(), policies: false });
  const loadAverage = Math.round(loadavg()[0]! * 100) / 100;
  try {
    const result = await closedLoop(
      () => {
        const key = Math.floor(Math.random() * options.keys);
        return client.work({ key }, { hashKey: `key-${key}` });
      },
      {
        concurrency: options.clientConcurrency,
        warmupMs: options.warmupSeconds * 1000,
        durationMs: options.seconds * 1000,
      },
    );
    const endpointLoad: QualityRun['endpointLoad'] = {};
    for (const e of client.$directory.all()) {
      const round = (x: number) => Math.round(x * 10) / 10;
      endpointLoad[e.instance.id] = {
        peakEwmaMs: round(e.load.peakEwmaMs),
        avgLatencyMs: round(e.load.avgLatencyMs),
      };
    }
    return { ...result, loadAverage, endpointLoad };
  } finally {
    await client.close();
    if (algorithm.only) await registry.close();
  }
}

async function warmFleet(fleet: Fleet, seconds: number, concurrency: number): Promise<void> {
  const client = createClient(Work, { registry: fleet.registry, balancer: roundRobin(), policies: false });
  try {
    await closedLoop(() => client.work({ key: 0 }), { concurrency, warmupMs: 0, durationMs: seconds * 1000 });
  } finally {
    await client.close();
  }
}

function summarise(
  algorithm: string,
  runs: QualityRun[],
  ids: readonly string[],
  slowId: string,
): QualityRow {
  const share = (run: QualityRun, id: string) =>
    run.calls === 0 ? 0 : (run.byInstance[id] ?? 0) / run.calls;
  const shares: Record<string, number> = {};
  for (const id of ids) shares[id] = median(runs.map((r) => share(r, id)));
  return {
    algorithm,
    callsPerSecond: median(runs.map((r) => r.callsPerSecond)),
    p50Ms: median(runs.map((r) => r.latencyMs.p50)),
    p99Ms: median(runs.map((r) => r.latencyMs.p99)),
    p999Ms: median(runs.map((r) => r.latencyMs.p999)),
    slowShare: median(runs.map((r) => share(r, slowId))),
    shares,
    rrP99Ratio: 0,
    runs,
  };
}

export async function run(
  options: { quick?: boolean; args?: readonly string[] } = {},
): Promise<QualityRow[]> {
  const argv = [...(options.args ?? []), ...(options.quick ? ['--quick'] : [])];
  const o = parseQualityOptions(argv);
  console.log(
    `\nBalancing quality: ${o.instances} server processes, ${o.latencyMs} ms per call × ${o.concurrency} at once each, ` +
      `instance 0 ${o.slowFactor}× slower; closed loop of ${o.clientConcurrency}, ${o.warmupSeconds} s warm-up + ` +
      `${o.seconds} s measured, ×${o.repeat}; client with policies: false`,
  );
  // A raised priority (servers and this client) keeps other work on a shared machine from
  // adding scheduling stalls to every latency the balancers see (needs root).
  const ownPriority = getPriority();
  if (o.priority !== undefined) setPriority(o.priority);
  const fleet = await startFleet(o);
  const ids = fleet.members.map((m) => m.id);
  const slowId = fleet.members.find((m) => m.slow)!.id;
  const runs = new Map<string, QualityRun[]>(o.algorithms.map((a) => [a.name, []]));
  try {
    await warmFleet(fleet, o.quick ? 1 : FLEET_WARMUP_SECONDS, o.clientConcurrency);
    // Interleaved, so a burst of load from elsewhere on the machine spreads over all algorithms.
    for (let r = 0; r < o.repeat; r++) {
      for (const algorithm of o.algorithms) {
        const result = await measure(fleet, algorithm, o);
        runs.get(algorithm.name)!.push(result);
        console.log(
          `  run ${r + 1} ${algorithm.name}: ${thousands(result.callsPerSecond)} calls/s, p99 ${fixed(result.latencyMs.p99, 1)} ms, ` +
            `slow ${fixed((100 * (result.byInstance[slowId] ?? 0)) / Math.max(1, result.calls), 1)} %, ` +
            `errors ${result.errors}, load ${result.loadAverage}`,
        );
        // Lets timers and sockets of the closed client settle before the next one starts.
        await new Promise((done) => setTimeout(done, 200));
      }
    }
  } finally {
    await fleet.stop();
    killAll();
    if (o.priority !== undefined) setPriority(ownPriority);
  }

  const rows = o.algorithms.map((a) => summarise(a.name, runs.get(a.name)!, ids, slowId));
  const rrP99 = rows.find((row) => row.algorithm === 'round-robin')!.p99Ms;
  for (const row of rows) row.rrP99Ratio = row.p99Ms > 0 ? rrP99 / row.p99Ms : 0;

  const pct = (x: number) => fixed(100 * x, 1);
  const range = (xs: number[]) => `${fixed(Math.min(...xs), 1)}–${fixed(Math.max(...xs), 1)}`;
  const table = formatTable(
    [
      'algorithm',
      'calls/s',
      'p50 ms',
      'p99 ms',
      'p99.9 ms',
      ...(o.repeat > 1 ? ['p99 range'] : []),
      'slow %',
      `shares % (${ids.join(' / ')})`,
      'RR p99 ÷ p99',
    ],
    rows.map((row) => [
      row.algorithm,
      thousands(row.callsPerSecond),
      fixed(row.p50Ms, 1),
      fixed(row.p99Ms, 1),
      fixed(row.p999Ms, 1),
      ...(o.repeat > 1 ? [range(row.runs.map((x) => x.latencyMs.p99))] : []),
      pct(row.slowShare),
      ids.map((id) => pct(row.shares[id]!)).join(' / '),
      fixed(row.rrP99Ratio, 1),
    ]),
  );
  const loads = rows.flatMap((row) => row.runs.map((x) => x.loadAverage));
  console.log(
    `\n${o.repeat > 1 ? `Median of ${o.repeat} runs` : 'One run'}, Node ${process.version}, ${cpus().length} CPUs, ` +
      `load average ${fixed(Math.min(...loads), 2)}–${fixed(Math.max(...loads), 2)}\n${table}`,
  );
  const p2c = rows.find((row) => row.algorithm === 'p2c-ewma');
  if (p2c) {
    const met = p2c.rrP99Ratio >= 5;
    console.log(
      `target (P2C-EWMA p99 ≥ 5× lower than round-robin): ${fixed(p2c.rrP99Ratio, 1)}× — ${met ? 'met' : 'NOT met'}`,
    );
  }

  if (o.out) {
    let commit: string | undefined;
    try {
      commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
    } catch {
      commit = undefined;
    }
    const { algorithms, out, ...settings } = o;
    mkdirSync(dirname(o.out), { recursive: true });
    writeFileSync(
      o.out,
      `${JSON.stringify(
        {
          benchmark: 'balance quality: one slow instance, closed loop, client with policies: false',
          machine: {
            cpus: cpus().length,
            node: process.version,
            date: new Date().toISOString(),
            commit,
            // Other work shares this machine: the 1-minute load average over the runs.
            loadAverage: { min: Math.min(...loads), max: Math.max(...loads) },
          },
          options: { ...settings, algorithms: algorithms.map((a) => a.name) },
          fleet: fleet.members,
          rows,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`written to ${o.out}`);
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run({ args: process.argv.slice(2) });
  process.exit(0);
}
