import type { Endpoint, EndpointLoad, EndpointStatus } from '../client/endpoint-types.js';
import { newLoad } from '../client/endpoint-types.js';
import type { CallContext } from '../core/context.js';
import type { InstanceStatus } from '../registry/instance.js';
import type { Balancer } from './balancer.js';

/** Helpers for balancer tests and benchmarks: endpoints that are plain data, never called. */

export interface TestEndpointOptions {
  id?: string;
  weight?: number;
  zone?: string;
  status?: EndpointStatus;
  instanceStatus?: InstanceStatus;
  firstSeenMs?: number;
  load?: Partial<EndpointLoad>;
}

let port = 20_000;

export function testEndpoint(options: TestEndpointOptions = {}): Endpoint {
  const p = port++;
  const id = options.id ?? `e${p}`;
  return {
    instance: {
      id,
      service: 'test.Service',
      address: `127.0.0.1:${p}`,
      weight: options.weight ?? 1,
      ...(options.zone === undefined ? {} : { zone: options.zone }),
      metadata: {},
      status: options.instanceStatus ?? 'UP',
      registeredAt: 0,
    },
    status: options.status ?? 'open',
    load: { ...newLoad(), ...options.load },
    firstSeenMs: options.firstSeenMs ?? Number.NEGATIVE_INFINITY,
    call: () => Promise.reject(new Error(`test endpoint ${id} is not callable`)),
  };
}

/** `n` endpoints with ids e0…e(n-1) (or `${prefix}0`…). */
export function testEndpoints(
  n: number,
  options: (i: number) => TestEndpointOptions = () => ({}),
  prefix = 'e',
): Endpoint[] {
  return Array.from({ length: n }, (_, i) => testEndpoint({ id: `${prefix}${i}`, ...options(i) }));
}

export function testContext(patch: Partial<CallContext> = {}): CallContext {
  return {
    method: 'test.Service/call',
    service: 'test.Service',
    deadline: Number.POSITIVE_INFINITY,
    signal: new AbortController().signal,
    metadata: {},
    attempt: 1,
    idempotent: true,
    ...patch,
  };
}

/** Picks `count` times and counts picks per instance id; `ctx` may vary per pick. */
export function countPicks(
  balancer: Balancer,
  endpoints: readonly Endpoint[],
  count: number,
  ctx: CallContext | ((i: number) => CallContext) = testContext(),
): Map<string, number> {
  const counts = new Map<string, number>(endpoints.map((e) => [e.instance.id, 0]));
  for (let i = 0; i < count; i++) {
    const e = balancer.pick(endpoints, typeof ctx === 'function' ? ctx(i) : ctx);
    if (e === undefined) throw new Error('balancer returned nothing');
    counts.set(e.instance.id, (counts.get(e.instance.id) ?? 0) + 1);
  }
  return counts;
}

/** Ids picked in order. */
export function sequence(balancer: Balancer, endpoints: readonly Endpoint[], count: number): string[] {
  const ctx = testContext();
  return Array.from({ length: count }, () => balancer.pick(endpoints, ctx)?.instance.id ?? '-');
}

export interface SimulationOptions {
  /** Service time of each endpoint, index-aligned with the endpoint list. */
  latencyMs: readonly number[];
  /** Callers in a closed loop: each issues its next call when the previous one completes. */
  concurrency: number;
  calls: number;
  /** Fake clock the simulation advances; hand the same one to time-aware balancers. */
  clock: { now: number };
  /** Called on completion to update load, e.g. recordLatency. */
  complete: (endpoint: Endpoint, latencyMs: number, at: number) => void;
}

/**
 * A discrete-event closed-loop run: balancers see inflight and latency figures evolve as
 * they would with real servers, without sockets or wall-clock time. Returns picks per id.
 */
export function simulate(
  balancer: Balancer,
  endpoints: readonly Endpoint[],
  options: SimulationOptions,
): Map<string, number> {
  const { clock, latencyMs } = options;
  const counts = new Map<string, number>(endpoints.map((e) => [e.instance.id, 0]));
  const pending: { at: number; endpoint: Endpoint; latency: number }[] = [];
  let issued = 0;
  const start = () => {
    const e = balancer.pick(endpoints, testContext({ hashKey: `k${issued}` }));
    if (e === undefined) throw new Error('balancer returned nothing');
    issued++;
    counts.set(e.instance.id, counts.get(e.instance.id)! + 1);
    e.load.inflight++;
    const latency = latencyMs[endpoints.indexOf(e)]!;
    pending.push({ at: clock.now + latency, endpoint: e, latency });
  };
  for (let i = 0; i < options.concurrency; i++) start();
  while (pending.length > 0) {
    let next = 0;
    for (let i = 1; i < pending.length; i++) if (pending[i]!.at < pending[next]!.at) next = i;
    const done = pending.splice(next, 1)[0]!;
    clock.now = done.at;
    done.endpoint.load.inflight--;
    options.complete(done.endpoint, done.latency, done.at);
    if (issued < options.calls) start();
  }
  return counts;
}
