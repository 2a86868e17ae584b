import { pathToFileURL } from 'node:url';
import { roundRobin } from '../src/balance/index.js';
import type { Directory, EndpointFilterFactory } from '../src/client/endpoint-types.js';
import { compose, type Filter, type Service } from '../src/core/service.js';
import {
  bulkhead,
  circuitBreaker,
  defaultClientPolicies,
  fallback,
  pickAndCall,
  rateLimit,
  timeout,
} from '../src/policy/index.js';
import { ctxFor, fakeEndpoint } from '../src/policy/testing.js';
import { saveResults } from './save-results.js';

/**
 * Per-call cost of the policy stacks over an in-memory service (four endpoints whose call
 * resolves at once), against the same client path with no filters. What remains is the
 * policies' own overhead: closures, awaits, counters, timers. Target for the default stack:
 * < 2 µs. `npx tsx bench/policy-cost.ts [--quick]`.
 */

export interface PolicyCostResult {
  stack: string;
  nsPerCall: number;
  overheadNs: number;
}

const handler: Service = async (req) => req;

function build(filters: readonly Filter[], endpointFilters: readonly EndpointFilterFactory[]): Service {
  const endpoints = ['a', 'b', 'c', 'd'].map((id) => fakeEndpoint(id, handler, endpointFilters));
  const directory: Directory = {
    service: 'bench.Svc',
    balancer: roundRobin(),
    all: () => endpoints,
    routable: () => endpoints,
  };
  return compose(...filters)(pickAndCall(directory));
}

async function measure(service: Service, quick: boolean, withDeadline: boolean): Promise<number> {
  const ctx = ctxFor(withDeadline ? { deadline: Date.now() + 3_600_000 } : {});
  const loop = async (count: number) => {
    for (let i = 0; i < count; i++) await service(i, ctx);
  };
  await loop(quick ? 20_000 : 200_000);
  let count = 10_000;
  for (;;) {
    const t = process.hrtime.bigint();
    await loop(count);
    if (Number(process.hrtime.bigint() - t) / 1e6 > (quick ? 5 : 20) || count > 1e7) break;
    count *= 2;
  }
  const samples: number[] = [];
  for (let b = 0; b < (quick ? 5 : 15); b++) {
    const t = process.hrtime.bigint();
    await loop(count);
    samples.push(Number(process.hrtime.bigint() - t) / count);
  }
  // The minimum of batches is the steadiest estimate on a shared machine.
  return Math.min(...samples);
}

export async function run(options: { quick?: boolean } = {}): Promise<PolicyCostResult[]> {
  const quick = options.quick ?? false;
  const defaults = defaultClientPolicies();
  const withTimeouts = defaultClientPolicies({ totalTimeoutMs: 3_600_000, attemptTimeoutMs: 3_600_000 });
  const hedged = defaultClientPolicies({ hedge: { initialDelayMs: 3_600_000 } });
  const stacks: [string, Service, boolean][] = [
    ['no filters (pickAndCall)', build([], []), false],
    ['defaultClientPolicies()', build(defaults.filters, defaults.endpointFilters), false],
    [
      'defaults + fallback, bulkhead, rate limit, service breaker',
      build(
        [
          fallback<unknown, unknown>({ value: null }),
          ...defaults.filters,
          circuitBreaker(),
          bulkhead({ maxConcurrent: 1000 }),
          rateLimit({ rate: 1e9 }),
        ],
        defaults.endpointFilters,
      ),
      false,
    ],
    [
      'defaults + total and attempt timeouts (call has a deadline)',
      build(withTimeouts.filters, withTimeouts.endpointFilters),
      true,
    ],
    ['defaults + hedging (no backup fires)', build(hedged.filters, hedged.endpointFilters), false],
    ['timeout() alone (call has a deadline)', build([timeout()], []), true],
  ];
  const results: PolicyCostResult[] = [];
  let baseline = 0;
  for (const [stack, service, deadline] of stacks) {
    const ns = await measure(service, quick, deadline);
    if (results.length === 0) baseline = ns;
    results.push({ stack, nsPerCall: Math.round(ns), overheadNs: Math.round(ns - baseline) });
  }
  for (const p of [defaults, withTimeouts, hedged]) p.dispose();

  console.log(`\nPolicy cost per call, in-memory service (best of batches, Node ${process.version})`);
  console.table(
    Object.fromEntries(
      results.map((r) => [r.stack, { 'ns/call': r.nsPerCall, 'overhead ns': r.overheadNs }]),
    ),
  );
  saveResults('policy-cost', { quick, results });
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run({ quick: process.argv.includes('--quick') });
}
