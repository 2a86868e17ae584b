import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { trackLoad } from '../src/balance/load-tracking.js';
import { p2cEwma } from '../src/balance/p2c-ewma.js';
import { retry } from '../src/policy/retry.js';
import { type ElasticFleet, type ElasticFleetOptions, startElasticFleet } from '../src/scale/demo/elastic.js';
import { type LoadSample, openLoop } from '../src/scale/demo/load.js';
import type { ScaleDecision } from '../src/scale/policy.js';
import { saveResults } from './save-results.js';

/**
 * The elastic loop end to end with real processes (embedded registry, process pool,
 * autoscaler, open-loop client), in two experiments:
 *
 * step:  base load, then 10× for a while, then base again. Reports the time from the step
 *        until enough instances serve (capacity ≥ offered load), until the policy's count
 *        is reached, and until client p99 is back under target for 3 s in a row; the time
 *        back to one instance after the load falls; and failed calls over the whole cycle.
 * noise: steady load with ±noise changing every 500 ms, from a settled fleet. Reports the
 *        scale events and the direction reversals (flapping) over the run.
 */

const CONCURRENCY = 8;
const WORK_MS = 50;
const PER_INSTANCE = (CONCURRENCY * 1000) / WORK_MS; // calls/s one instance can serve
const P99_TARGET_MS = 2 * WORK_MS;
const FLEET: ElasticFleetOptions = {
  concurrency: CONCURRENCY,
  workMs: WORK_MS,
  targetInflight: CONCURRENCY / 2,
  minReplicas: 1,
  maxReplicas: 10,
  intervalMs: 1_000,
  scaleDown: { stabilizationMs: 15_000 },
};

/** The fleet's default client, with its retry filter at hand to count retries. */
function fleetWithRetries() {
  const retries = retry();
  let count = 0;
  retries.onRetry(() => count++);
  const client = { balancer: p2cEwma(), endpointFilters: [trackLoad()], filters: [retries] };
  return { start: () => startElasticFleet({ ...FLEET, client }), retries: () => count };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ready = (fleet: ElasticFleet) => fleet.pool.members.filter((m) => m.state === 'ready').length;
/** Replicas running or starting, spares and draining ones left out. */
const replicas = (fleet: ElasticFleet) =>
  fleet.pool.members.filter((m) => m.role === 'active' && m.state !== 'draining').length;
const round = (x: number | undefined) => (x === undefined ? undefined : Math.round(x));

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) return false;
    await sleep(50);
  }
  return true;
}

export interface StepResult {
  baseRate: number;
  stepRate: number;
  /** Instances needed to serve the step at all (offered / per-instance capacity). */
  neededForCapacity: number;
  /** The count the policy aims at (offered in-flight / target). */
  policyCount: number;
  firstScaleOutMs?: number;
  capacityReadyMs?: number;
  policyCountReadyMs?: number;
  p99BackUnderTargetMs?: number;
  peakReplicas: number;
  scaleInToOneMs?: number;
  sent: number;
  failed: number;
  /** Attempts the client retried (on another instance) to get there. */
  retries: number;
  scaleEvents: number;
  /** Client p99 (ms) of each second from the step on. */
  p99BySecond: number[];
}

async function stepExperiment(quick: boolean): Promise<StepResult> {
  const baseRate = 60;
  const stepRate = 10 * baseRate;
  const holdMs = quick ? 15_000 : 30_000;
  const setup = fleetWithRetries();
  const fleet = await setup.start();
  const decisions: ScaleDecision[] = [];
  fleet.autoscaler.onDecision((d) => decisions.push(d));
  let rate = baseRate;
  const load = openLoop({ call: () => fleet.client.work({}), rate: () => rate });
  const samples: (LoadSample & { at: number })[] = [];
  load.onSample((s) => samples.push({ ...s, at: performance.now() }));
  let peak = 1;
  const peakTimer = setInterval(() => (peak = Math.max(peak, ready(fleet))), 100);
  try {
    await sleep(5_000);
    const neededForCapacity = Math.ceil(stepRate / PER_INSTANCE);
    const policyCount = Math.min(
      FLEET.maxReplicas!,
      Math.ceil((stepRate * WORK_MS) / 1000 / FLEET.targetInflight!),
    );
    const stepAt = performance.now();
    const stepEpoch = Date.now();
    rate = stepRate;
    const since = () => performance.now() - stepAt;
    let capacityReadyMs: number | undefined;
    let policyCountReadyMs: number | undefined;
    await until(() => {
      const n = ready(fleet);
      if (capacityReadyMs === undefined && n >= neededForCapacity) capacityReadyMs = since();
      if (policyCountReadyMs === undefined && n >= policyCount) policyCountReadyMs = since();
      return policyCountReadyMs !== undefined || since() > holdMs;
    }, holdMs + 1_000);
    await until(() => since() > holdMs, holdMs);
    const after = samples.filter((s) => s.at > stepAt);
    let p99BackUnderTargetMs: number | undefined;
    for (let i = 0; i + 2 < after.length; i++) {
      if (after.slice(i, i + 3).every((s) => s.p99Ms > 0 && s.p99Ms <= P99_TARGET_MS)) {
        p99BackUnderTargetMs = after[i]!.at - stepAt;
        break;
      }
    }
    const firstUp = decisions.find((d) => d.direction === 'up' && d.at >= stepEpoch);

    rate = baseRate;
    const dropAt = performance.now();
    let scaleInToOneMs: number | undefined;
    if (await until(() => replicas(fleet) === 1, 60_000)) scaleInToOneMs = performance.now() - dropAt;
    await sleep(2_000);
    await load.stop();
    return {
      baseRate,
      stepRate,
      neededForCapacity,
      policyCount,
      ...(firstUp ? { firstScaleOutMs: round(firstUp.at - stepEpoch) } : {}),
      ...(capacityReadyMs === undefined ? {} : { capacityReadyMs: round(capacityReadyMs) }),
      ...(policyCountReadyMs === undefined ? {} : { policyCountReadyMs: round(policyCountReadyMs) }),
      ...(p99BackUnderTargetMs === undefined ? {} : { p99BackUnderTargetMs: round(p99BackUnderTargetMs) }),
      peakReplicas: peak,
      ...(scaleInToOneMs === undefined ? {} : { scaleInToOneMs: round(scaleInToOneMs) }),
      sent: load.totals.sent,
      failed: load.totals.failed,
      retries: setup.retries(),
      scaleEvents: decisions.filter((d) => d.direction !== 'none').length,
      p99BySecond: after.map((s) => Math.round(s.p99Ms)),
    };
  } finally {
    clearInterval(peakTimer);
    await load.stop();
    await fleet.close();
  }
}

export interface NoiseResult {
  rate: number;
  noise: number;
  seconds: number;
  replicasAtStart: number;
  scaleEvents: number;
  reversals: number;
  minReplicas: number;
  maxReplicas: number;
  failed: number;
  retries: number;
  events: string[];
}

async function noiseExperiment(quick: boolean): Promise<NoiseResult> {
  const rate = 300;
  const noise = 0.2;
  const seconds = quick ? 30 : 90;
  const setup = fleetWithRetries();
  const fleet = await setup.start();
  let offered = rate;
  const jitter = setInterval(() => (offered = rate * (1 + noise * (2 * Math.random() - 1))), 500);
  const load = openLoop({ call: () => fleet.client.work({}), rate: () => offered });
  try {
    // Settle: count only once the fleet has held its size for 20 s (the scale-down window + 5 s).
    let lastChange = performance.now();
    const settling = fleet.autoscaler.onDecision((d) => {
      if (d.direction !== 'none') lastChange = performance.now();
    });
    await until(() => performance.now() - lastChange > 20_000, 90_000);
    settling.dispose();
    const decisions: ScaleDecision[] = [];
    fleet.autoscaler.onDecision((d) => d.direction !== 'none' && decisions.push(d));
    const replicasAtStart = await fleet.pool.replicas();
    let min = replicasAtStart;
    let max = replicasAtStart;
    const watch = setInterval(() => {
      const n = replicas(fleet);
      min = Math.min(min, n);
      max = Math.max(max, n);
    }, 200);
    await sleep(seconds * 1000);
    clearInterval(watch);
    let reversals = 0;
    for (let i = 1; i < decisions.length; i++)
      if (decisions[i]!.direction !== decisions[i - 1]!.direction) reversals++;
    await load.stop();
    return {
      rate,
      noise,
      seconds,
      replicasAtStart,
      scaleEvents: decisions.length,
      reversals,
      minReplicas: min,
      maxReplicas: max,
      failed: load.totals.failed,
      retries: setup.retries(),
      events: decisions.map((d) => d.reason),
    };
  } finally {
    clearInterval(jitter);
    await load.stop();
    await fleet.close();
  }
}

export async function run(options: { quick?: boolean } = {}) {
  const quick = options.quick ?? false;
  const step = await stepExperiment(quick);
  const noise = await noiseExperiment(quick);
  const ms = (x: number | undefined) => (x === undefined ? 'never' : `${(x / 1000).toFixed(1)} s`);
  console.log(
    `\nElastic loop: ${CONCURRENCY} calls at once × ${WORK_MS} ms per instance (${PER_INSTANCE} calls/s each)`,
  );
  console.table({
    'load step': `${step.baseRate} → ${step.stepRate} calls/s (10×)`,
    'first scale-out decision': ms(step.firstScaleOutMs),
    [`capacity serving (${step.neededForCapacity} ready)`]: ms(step.capacityReadyMs),
    [`policy count serving (${step.policyCount} ready)`]: ms(step.policyCountReadyMs),
    [`client p99 ≤ ${P99_TARGET_MS} ms for 3 s`]: ms(step.p99BackUnderTargetMs),
    'back to 1 instance after the drop': ms(step.scaleInToOneMs),
    'failed calls, full cycle (target 0)': `${step.failed} of ${step.sent} (${step.retries} retried)`,
    [`noisy load ${noise.rate} ± ${noise.noise * 100} % for ${noise.seconds} s`]: `${noise.scaleEvents} scale events, ${noise.reversals} reversals (target 0), replicas ${noise.minReplicas}–${noise.maxReplicas}`,
    'failed calls under noise': `${noise.failed} (${noise.retries} retried)`,
  });
  saveResults('scale', { quick, fleet: FLEET, p99TargetMs: P99_TARGET_MS, step, noise });
  return { step, noise };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run({ quick: process.argv.includes('--quick') });
}
