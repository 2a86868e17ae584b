import { performance } from 'node:perf_hooks';
import { type Disposable, disposable } from '../../core/events.js';
import type { ProcessPool } from '../process-pool.js';
import { startElasticFleet } from './elastic.js';
import { openLoop } from './load.js';
import { type DemoTerminal, demoTerminal, formatDecision, formatSummary, formatTick } from './progress.js';
import { type DemoSummary, demoRecorder } from './report.js';
import { type DemoScenario, demoScenario } from './scenario.js';

export interface DemoRunOptions {
  /** Offered calls/s outside the peak; default 60. */
  baseRate?: number;
  /** Peak as a multiple of the base rate; default 10. */
  peak?: number;
  /** Stretches (> 1) or shortens (< 1) every phase; default 1. */
  scale?: number;
  /** The ~30 s variant. */
  quick?: boolean;
  /** Calls in flight per instance the autoscaler holds; default 60 % of an instance's concurrency. */
  targetInflight?: number;
  /** The client p99 objective of the summary; also a scaling signal when `p99AsSignal`. Default 3 × work time (150 ms). */
  targetP99Ms?: number;
  p99AsSignal?: boolean;
  minReplicas?: number;
  maxReplicas?: number;
  /** Port of the embedded registry (and its dashboard); default any free port. */
  registryPort?: number;
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Resolves when the user asks to stop: the demo drains and still reports. */
  interrupted: Promise<void>;
}

export interface DemoResult {
  summary: DemoSummary;
  interrupted: boolean;
  /** False when interrupted before the first instance was ready: no load was sent. */
  booted: boolean;
  /** Every process the pool started, and those still alive after the demo closed. */
  pids: number[];
  alive: number[];
}

/** Each demo instance serves 8 calls at once, 50 ms each: 160 calls/s, whatever the machine. */
const CONCURRENCY = 8;
const WORK_MS = 50;
const PER_INSTANCE_RATE = (CONCURRENCY * 1000) / WORK_MS;
const CALL_TIMEOUT_MS = 10_000;

const sleep = (ms: number, signal: Promise<void>) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    void signal.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * The elastic demo: the embedded registry, a process pool of demo instances scaled by the
 * autoscaler, and an open-loop client whose load steps up 10×, holds, falls and stays
 * low, with live progress and a closing summary.
 */
export async function runDemo(options: DemoRunOptions): Promise<DemoResult> {
  const term = demoTerminal(options.out);
  const scenario: DemoScenario = demoScenario({
    baseRate: options.baseRate ?? 60,
    peak: options.peak ?? 10,
    scale: options.scale ?? 1,
    quick: options.quick ?? false,
  });
  const minReplicas = options.minReplicas ?? 1;
  const p99TargetMs = options.targetP99Ms ?? 3 * WORK_MS;
  const cool = scenario.phases.at(-1)!;
  let interrupted = false;
  void options.interrupted.then(() => (interrupted = true));

  term.line(
    `Tensile elastic demo: each instance serves ${CONCURRENCY} calls at once × ${WORK_MS} ms (${PER_INSTANCE_RATE} calls/s);` +
      ` load ${scenario.baseRate} → ${scenario.peakRate} calls/s and back over ${Math.round(scenario.totalS)} s.`,
  );
  term.line('starting the embedded registry and the first instance…');
  const pids = new Set<number>();
  const fleet = await startElasticFleet({
    concurrency: CONCURRENCY,
    workMs: WORK_MS,
    minReplicas,
    maxReplicas: options.maxReplicas ?? 10,
    // A starved machine can take many seconds to boot a TypeScript process: killing it
    // at the pool's 20 s default would only start the same work over.
    startTimeoutMs: 60_000,
    ...(options.targetInflight === undefined ? {} : { targetInflight: options.targetInflight }),
    ...(options.p99AsSignal ? { targetP99Ms: p99TargetMs } : {}),
    ...(options.registryPort === undefined ? {} : { registryPort: options.registryPort }),
    // Room in the low tail to scale in; 15 s is plenty against flapping at a 1 s period.
    scaleDown: { stabilizationMs: Math.min(15_000, cool.durationS * 400) },
    onPoolEvent: (e) => e.type === 'spawn' && pids.add(e.pid),
    interrupted: options.interrupted,
  }).catch((err) => {
    if (interrupted) return undefined; // the start stopped because of the interrupt
    throw err;
  });
  if (!fleet) {
    term.line('interrupted while starting: the instances were stopped.');
    const summary = demoRecorder(scenario, { p99TargetMs, perInstanceRate: PER_INSTANCE_RATE }).summary();
    return { ...processes(term, pids), summary, interrupted, booted: false };
  }
  const subs: Disposable[] = [];
  const recorder = demoRecorder(scenario, { p99TargetMs, perInstanceRate: PER_INSTANCE_RATE });
  const started = performance.now();
  const now = () => (performance.now() - started) / 1000;
  const readyCount = (pool: ProcessPool) =>
    pool.members.filter((m) => m.role === 'active' && m.state === 'ready').length;

  term.line(`registry: ${fleet.registryUrl}`);
  term.line(`dashboard: ${fleet.registryUrl}/dashboard/`);
  subs.push(
    fleet.pool.onEvent((e) => {
      if (e.type === 'ready') recorder.replicas(now(), readyCount(fleet.pool));
      if (e.type === 'crash' && !interrupted)
        term.line(
          term.color('red', `${e.pid}: instance exited unexpectedly (${e.signal ?? e.code}); replacing it`),
        );
    }),
    fleet.autoscaler.onDecision((d) => {
      if (d.direction === 'none') return;
      const t = now();
      recorder.decision(t, d);
      term.line(formatDecision(t, d, term));
    }),
  );

  const errorsShown = new Set<string>();
  const load = openLoop({
    rate: (t) => scenario.rateAt(t),
    call: () => {
      const sentS = now();
      const t0 = performance.now();
      return fleet.client.work({}, { timeoutMs: CALL_TIMEOUT_MS }).then(
        () => recorder.call(sentS, performance.now() - t0),
        (err: Error) => {
          recorder.call(sentS, undefined);
          const text = `${(err as { code?: string })?.code ?? err?.name}: ${err?.message}`;
          if (errorsShown.size < 5 && !errorsShown.has(text)) {
            errorsShown.add(text);
            term.line(term.color('red', `call failed: ${text}`));
          }
          throw err;
        },
      );
    },
  });
  // Phase headers on the phases' own clock; a status line shows the second it measured.
  const phaseTimers = scenario.phases.map((p) =>
    setTimeout(() => {
      recorder.replicas(now(), readyCount(fleet.pool));
      const [a, b] = [Math.round(p.fromRate), Math.round(p.toRate)];
      const rates = a === b ? `${a}` : `${a} → ${b}`;
      term.line(term.color('bold', `── ${p.name}: ${rates} calls/s for ${Math.round(p.durationS)} s`));
    }, p.startS * 1000),
  );
  subs.push(
    disposable(() => phaseTimers.forEach(clearTimeout)),
    load.onSample((s) => {
      recorder.sample(s);
      const ready = readyCount(fleet.pool);
      recorder.replicas(s.t, ready);
      const p = scenario.phaseAt(Math.max(0, s.t - 0.5));
      const starting = fleet.pool.members.filter(
        (m) => m.role === 'active' && (m.state === 'starting' || m.state === 'standby'),
      ).length;
      term.status(
        formatTick({
          t: s.t,
          phase: p.name,
          offered: s.rate,
          achieved: s.ok,
          ready,
          starting,
          desired: fleet.autoscaler.desired ?? minReplicas,
          p50Ms: s.p50Ms,
          p99Ms: s.p99Ms,
          errors: load.totals.failed,
        }),
      );
    }),
  );

  await sleep(scenario.totalS * 1000, options.interrupted);
  const replicasAtEnd = readyCount(fleet.pool);
  const stopping = load.stop(); // stops sending at once, then waits for the calls in flight
  for (const s of subs) s.dispose();
  term.end();
  if (interrupted) {
    term.line(
      `interrupted at ${now().toFixed(0)} s: draining the calls in flight and stopping the instances (Ctrl-C again quits at once)…`,
    );
    // The terminal's Ctrl-C reached the instances too; closing the pool now keeps it from replacing them.
    await Promise.all([stopping, fleet.autoscaler.stop(), fleet.pool.close()]);
  } else {
    term.line('load finished: draining the calls in flight and stopping the instances…');
    await stopping;
  }
  await fleet.close();
  const summary = recorder.summary();
  term.line('');
  term.line(formatSummary(summary, { replicasAtEnd, minReplicas }));
  term.line('');
  const { alive } = processes(term, pids);
  const verdict =
    summary.failed === 0
      ? term.color('green', `no failed calls${interrupted ? ' (interrupted)' : ''}`)
      : term.color('red', `${summary.failed} failed calls`);
  term.line(verdict);
  return { summary, interrupted, booted: true, pids: [...pids], alive };
}

/** Prints and returns the processes started and any still alive: none should be. */
function processes(term: DemoTerminal, started: Set<number>) {
  const pids = [...started];
  const alive = pids.filter(isAlive);
  term.line(
    `processes: ${pids.length} started, ${alive.length ? `${alive.length} still running` : 'all exited'} (pids ${pids.join(' ')})`,
  );
  return { pids, alive };
}
