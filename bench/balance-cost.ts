import { pathToFileURL } from 'node:url';
import type { Balancer } from '../src/balance/balancer.js';
import {
  consistentHash,
  leastConnections,
  leastResponseTime,
  mulberry32,
  p2cEwma,
  random,
  roundRobin,
  routable,
  slowStart,
  smoothWeightedRoundRobin,
  weightedRandom,
  zoneAware,
} from '../src/balance/index.js';
import { testContext, testEndpoints } from '../src/balance/test-endpoints.js';
import type { Endpoint } from '../src/client/endpoint-types.js';
import type { CallContext } from '../src/core/context.js';
import { saveResults } from './save-results.js';

/**
 * Cost of one pick for every balancer at 10, 100 and 1,000 endpoints, after warm-up, on a
 * stable snapshot with realistic load figures (the steady state of a client). Target: < 1 µs
 * at 100. `npx tsx bench/balance-cost.ts [--quick]`.
 */

const SIZES = [10, 100, 1000] as const;

const algorithms: Record<string, () => Balancer> = {
  roundRobin: () => roundRobin(),
  random: () => random(),
  weightedRandom: () => weightedRandom(),
  'weightedRandom + slowStart (ramping)': () => weightedRandom({ slowStart: slowStart() }),
  smoothWeightedRoundRobin: () => smoothWeightedRoundRobin(),
  'smoothWRR + slowStart (ramping)': () => smoothWeightedRoundRobin({ slowStart: slowStart() }),
  leastConnections: () => leastConnections(),
  'leastConnections (choices: 4)': () => leastConnections({ choices: 4 }),
  leastResponseTime: () => leastResponseTime(),
  p2cEwma: () => p2cEwma(),
  'p2cEwma + slowStart (ramping)': () => p2cEwma({ slowStart: slowStart() }),
  consistentHash: () => consistentHash(),
  'consistentHash bounded 1.25': () => consistentHash({ boundedLoad: 1.25 }),
  'zoneAware(p2cEwma)': () => zoneAware({ zone: 'z0', inner: p2cEwma() }),
};

export interface BalanceCostResult {
  algorithm: string;
  endpoints: number;
  nsPerPick: number;
}

/** Endpoints as a busy client sees them: measured, some calls in flight, three zones, mixed weights. */
function fleet(n: number): Endpoint[] {
  const rand = mulberry32(n);
  const now = performance.now();
  return testEndpoints(n, (i) => ({
    zone: `z${i % 3}`,
    weight: 1 + (i % 4),
    // Half the fleet "just appeared", so slow-start variants stay in their ramp throughout.
    firstSeenMs: i % 2 === 0 ? now : Number.NEGATIVE_INFINITY,
    load: {
      inflight: Math.floor(rand() * 6),
      completed: 100,
      peakEwmaMs: 5 + rand() * 45,
      ewmaStampMs: now,
      avgLatencyMs: 5 + rand() * 45,
    },
  }));
}

function measure(
  balancer: Balancer,
  endpoints: readonly Endpoint[],
  contexts: readonly CallContext[],
  quick: boolean,
) {
  const mask = contexts.length - 1;
  let sink = 0;
  const loop = (count: number) => {
    for (let i = 0; i < count; i++) sink += balancer.pick(endpoints, contexts[i & mask]!)!.instance.weight;
  };
  // Warm-up: builds rings and tables, and lets the JIT settle on this shape.
  loop(quick ? 20_000 : 200_000);
  // Calibrate a batch to ~10 ms (3 ms quick), then take the best of several batches: on a
  // shared machine the minimum is the steadiest estimate of the intrinsic cost.
  let count = 10_000;
  for (;;) {
    const t = process.hrtime.bigint();
    loop(count);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (ms > (quick ? 3 : 10) || count > 1e8) break;
    count *= 2;
  }
  const samples: number[] = [];
  for (let b = 0; b < (quick ? 5 : 15); b++) {
    const t = process.hrtime.bigint();
    loop(count);
    samples.push(Number(process.hrtime.bigint() - t) / count);
  }
  if (sink === -1) console.log(sink); // keeps the picks observable
  return Math.min(...samples);
}

export async function run(options: { quick?: boolean } = {}): Promise<BalanceCostResult[]> {
  const quick = options.quick ?? false;
  const contexts = Array.from({ length: 1024 }, (_, i) => testContext({ hashKey: `session-${i}` }));
  const results: BalanceCostResult[] = [];
  const table: Record<string, Record<string, string>> = {};
  const row = (algorithm: string, n: number, ns: number) => {
    results.push({ algorithm, endpoints: n, nsPerPick: Math.round(ns * 10) / 10 });
    (table[algorithm] ??= {})[`${n} endpoints (ns)`] = ns.toFixed(0);
  };
  for (const [name, factory] of Object.entries(algorithms)) {
    for (const n of SIZES) {
      const endpoints = routable(fleet(n)).endpoints;
      row(name, n, measure(factory(), endpoints, contexts, quick));
    }
  }
  // The health filter the client runs before every pick: one pass, no allocation when unchanged.
  for (const n of SIZES) {
    const all = fleet(n);
    all[0]!.status = 'ejected';
    const filter: Balancer = { name: 'routable', pick: (e) => routable(e).endpoints[0] };
    row('routable() health filter', n, measure(filter, all, contexts, quick));
  }

  // Reference for the O(n) rows: the cheapest possible pass, reading load.inflight of each endpoint.
  for (const n of SIZES) {
    const scan: Balancer = {
      name: 'scan',
      pick: (e) => {
        let best = 0;
        for (let i = 1; i < e.length; i++) if (e[i]!.load.inflight < e[best]!.load.inflight) best = i;
        return e[best];
      },
    };
    row('reference: one pass reading load.inflight', n, measure(scan, fleet(n), contexts, quick));
  }

  console.log(`\nBalancer pick cost, ns per pick (best of batches, Node ${process.version})`);
  console.table(table);
  saveResults('balance-cost', { quick, results });
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run({ quick: process.argv.includes('--quick') });
}
