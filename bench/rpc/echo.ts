import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkTs, killAll, type LoadEvent, type ServerEvent } from './ipc.js';
import type { ClosedLoopResult } from './load.js';
import { PAYLOAD, SYSTEMS, type SystemName, serverScript } from './payload.js';
import { median } from './stats.js';
import { fixed, formatTable, thousands } from './table.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');

export interface RpcBenchOptions {
  systems: readonly SystemName[];
  concurrencies: readonly number[];
  warmupSeconds: number;
  seconds: number;
  /** Runs of every (system, concurrency); the table shows the median of each figure. */
  repeat: number;
  /** Where to write the JSON results; undefined: do not write. */
  out: string | undefined;
  /** Directory for --cpu-prof profiles of the server and client processes. */
  profileDir: string | undefined;
  /** Scheduling priority (nice value, -20..19) for the server and client processes. */
  priority: number | undefined;
}

export interface MeasuredRun extends ClosedLoopResult {
  /** CPU time of the server process in the measured window. */
  serverCpuMs: number;
  /** Client plus server CPU time per completed call: robust to other load on the machine. */
  cpuUsPerRequest: number;
  /** 1-minute load average when the run started (other work on the machine skews req/s). */
  loadAverage: number;
}

export interface RpcRow {
  system: SystemName;
  concurrency: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  runs: MeasuredRun[];
}

/** Reads options from flags (`--seconds=5`) and environment (`BENCH_SECONDS=5`); flags win. */
export function parseOptions(argv: readonly string[], env = process.env): RpcBenchOptions {
  const flag = (name: string): string | undefined => {
    const hit = argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (hit === undefined) return env[`BENCH_${name.toUpperCase()}`];
    return hit.includes('=') ? hit.slice(hit.indexOf('=') + 1) : 'true';
  };
  const quick = flag('quick') === 'true' || flag('quick') === '1';
  const num = (name: string, fallback: number): number => {
    const raw = flag(name);
    const n = raw === undefined ? fallback : Number(raw);
    if (!(n > 0)) throw new TypeError(`--${name} must be a positive number, got ${raw}`);
    return n;
  };
  const list = (name: string): string[] | undefined =>
    flag(name)
      ?.split(',')
      .map((s) => s.trim());
  const systems = (list('systems') ?? [...SYSTEMS]) as SystemName[];
  for (const s of systems)
    if (!SYSTEMS.includes(s)) throw new TypeError(`unknown system ${s}; known: ${SYSTEMS}`);
  const out = flag('out');
  return {
    systems,
    concurrencies: (list('concurrency') ?? ['1', '64']).map(Number),
    warmupSeconds: num('warmup', quick ? 0.5 : 3),
    seconds: num('seconds', quick ? 1 : 5),
    repeat: Math.round(num('repeat', 1)),
    // A quick smoke run must not overwrite the committed results.
    out: out ?? (quick ? undefined : join(repo, 'bench/results/rpc.json')),
    priority: flag('priority') === undefined ? undefined : Number(flag('priority')),
    profileDir: flag('profile') === 'true' ? join(repo, 'bench/profiles') : flag('profile'),
  };
}

async function measure(
  system: SystemName,
  concurrency: number,
  options: RpcBenchOptions,
  tag: string,
): Promise<MeasuredRun> {
  // One directory per process: the tsx loader thread writes a profile of its own beside the
  // main thread's (the larger file).
  const prof = (role: string) =>
    options.profileDir
      ? ['--cpu-prof', `--cpu-prof-dir=${join(options.profileDir, `${system}-c${concurrency}${tag}`, role)}`]
      : [];
  const server = forkTs<ServerEvent>(
    join(here, 'servers', serverScript(system)),
    prof('server'),
    options.priority,
  );
  let load: ReturnType<typeof forkTs<LoadEvent>> | undefined;
  try {
    const { port } = await server.next(
      (m): m is Extract<ServerEvent, { type: 'ready' }> => m.type === 'ready',
      30_000,
    );
    load = forkTs<LoadEvent>(join(here, 'load-process.ts'), prof('client'), options.priority);
    // The server's CPU time is sampled when the client opens and closes the measured window.
    const serverCpu: number[] = [];
    server.process.on('message', (m: ServerEvent) => m.type === 'cpu' && serverCpu.push(m.cpuMs));
    load.process.on('message', (m: LoadEvent) => m.type === 'window' && server.process.send({ type: 'cpu' }));
    const loadAverage = Math.round(loadavg()[0]! * 100) / 100;
    load.process.send({
      type: 'start',
      system,
      port,
      concurrency,
      warmupMs: options.warmupSeconds * 1000,
      durationMs: options.seconds * 1000,
    });
    const budget = (options.warmupSeconds + options.seconds) * 1000 + 60_000;
    const { result } = await load.next(
      (m): m is Extract<LoadEvent, { type: 'result' }> => m.type === 'result',
      budget,
    );
    // The server answers the closing sample over IPC; give that message a moment to land.
    for (let i = 0; i < 100 && serverCpu.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const serverCpuMs = serverCpu.length === 2 ? serverCpu[1]! - serverCpu[0]! : Number.NaN;
    const cpuUsPerRequest = ((result.clientCpuMs + serverCpuMs) * 1000) / result.requests;
    return { ...result, serverCpuMs, cpuUsPerRequest, loadAverage };
  } finally {
    // Writing a profile of a busy process takes a while: give it time before killing.
    const grace = options.profileDir ? 60_000 : 5_000;
    await load?.stop({ type: 'stop' }, grace);
    await server.stop({ type: 'stop' }, grace);
  }
}

function machine() {
  let commit: string | undefined;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
  } catch {
    commit = undefined;
  }
  const cpuList = cpus();
  return {
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    commit,
  };
}

export function renderTable(rows: readonly RpcRow[]): string {
  const find = (system: SystemName, c: number) =>
    rows.find((r) => r.system === system && r.concurrency === c);
  const body = rows.map((r) => {
    const plain = find('plain-socket', r.concurrency);
    const grpc = find('grpc-js', r.concurrency);
    return [
      r.system,
      String(r.concurrency),
      thousands(r.requestsPerSecond),
      fixed(r.p50Ms, 3),
      fixed(r.p99Ms, 3),
      fixed(r.cpuUsPerRequest, 1),
      plain ? fixed(r.requestsPerSecond / plain.requestsPerSecond, 2) : '–',
      plain ? fixed(r.p50Ms / plain.p50Ms, 2) : '–',
      grpc ? fixed(r.requestsPerSecond / grpc.requestsPerSecond, 2) : '–',
    ];
  });
  return formatTable(
    [
      'system',
      'conc',
      'req/s',
      'p50 ms',
      'p99 ms',
      'CPU µs/req',
      'req/s ÷ plain',
      'p50 ÷ plain',
      'req/s ÷ grpc',
    ],
    body,
  );
}

/** Unary echo: Tensile (JSON, MessagePack) against a hand-written socket and grpc-js. */
export async function run(options: RpcBenchOptions = parseOptions([])): Promise<RpcRow[]> {
  const runs = new Map<string, MeasuredRun[]>();
  const key = (s: SystemName, c: number) => `${s}@${c}`;
  const total = options.systems.length * options.concurrencies.length * options.repeat;
  let done = 0;
  try {
    for (let rep = 0; rep < options.repeat; rep++) {
      for (const system of options.systems) {
        for (const concurrency of options.concurrencies) {
          const result = await measure(
            system,
            concurrency,
            options,
            options.repeat > 1 ? `-r${rep + 1}` : '',
          );
          runs.set(key(system, concurrency), [...(runs.get(key(system, concurrency)) ?? []), result]);
          done++;
          process.stderr.write(
            `  [${done}/${total}] ${system.padEnd(16)} c=${String(concurrency).padEnd(3)} ` +
              `${thousands(result.requestsPerSecond).padStart(8)} req/s  p50 ${fixed(result.latencyMs.p50, 3)} ms  ` +
              `p99 ${fixed(result.latencyMs.p99, 3)} ms  cpu ${fixed(result.cpuUsPerRequest, 1)} µs/req  ` +
              `load ${result.loadAverage}${result.errors ? `  errors ${result.errors}` : ''}\n`,
          );
        }
      }
    }
  } finally {
    killAll();
  }
  const rows: RpcRow[] = [];
  for (const system of options.systems) {
    for (const concurrency of options.concurrencies) {
      const rs = runs.get(key(system, concurrency)) ?? [];
      rows.push({
        system,
        concurrency,
        requestsPerSecond: median(rs.map((r) => r.requestsPerSecond)),
        p50Ms: median(rs.map((r) => r.latencyMs.p50)),
        p99Ms: median(rs.map((r) => r.latencyMs.p99)),
        cpuUsPerRequest: median(rs.map((r) => r.cpuUsPerRequest)),
        runs: rs,
      });
    }
  }
  console.log(
    `\nRPC unary echo (${options.seconds}s measured after ${options.warmupSeconds}s warm-up` +
      `${options.repeat > 1 ? `, median of ${options.repeat} runs` : ''}; server and client in separate processes)\n`,
  );
  console.log(renderTable(rows));
  if (options.out) {
    mkdirSync(dirname(options.out), { recursive: true });
    const report = {
      benchmark: 'rpc unary echo, closed loop',
      payload: PAYLOAD,
      machine: machine(),
      options: { ...options, out: undefined, profileDir: undefined },
      rows,
    };
    writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nresults written to ${options.out}`);
  }
  return rows;
}
