import { isAvoided } from '../balance/avoid.js';
import type { Balancer } from '../balance/balancer.js';
import type { Directory, Endpoint, EndpointFilterFactory } from '../client/endpoint-types.js';
import { newLoad } from '../client/endpoint-types.js';
import { type CallContext, MAX_TIMER_MS, NEVER_ABORTED } from '../core/context.js';
import { compose, type Service } from '../core/service.js';
import type { Clock, TimerHandle } from './clock.js';

/** Test helpers for the policies: a fake clock, in-memory endpoints and directories. Not public API. */

export interface FakeClock extends Clock {
  /** Moves time forward, firing due timers in order and letting promises settle between them. */
  advance(ms: number): Promise<void>;
  /** Lets pending promise callbacks run without moving time. */
  flush(): Promise<void>;
  readonly pending: number;
}

export function fakeClock(start = 1_000_000): FakeClock {
  let time = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const flush = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return {
    now: () => time,
    setTimeout(fn, ms): TimerHandle {
      const id = ++seq;
      timers.set(id, { at: time + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    async advance(ms) {
      const end = time + ms;
      await flush();
      for (;;) {
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of timers)
          if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
        if (!next) break;
        timers.delete(next[0]);
        time = next[1].at;
        next[1].fn();
        await flush();
      }
      time = end;
      await flush();
    },
    flush,
    get pending() {
      return timers.size;
    },
  };
}

/** A fake clock that, like Node, fires a timer longer than MAX_TIMER_MS after 1 ms. */
export function nodeLikeClock(start?: number): FakeClock {
  const clock = fakeClock(start);
  const setTimeout = clock.setTimeout;
  clock.setTimeout = (fn, ms) => setTimeout(fn, ms > MAX_TIMER_MS ? 1 : ms);
  return clock;
}

export function ctxFor(patch: Partial<CallContext> = {}): CallContext {
  return {
    method: 'test.Svc/call',
    service: 'test.Svc',
    deadline: Number.POSITIVE_INFINITY,
    signal: NEVER_ABORTED,
    metadata: {},
    attempt: 1,
    idempotent: true,
    ...patch,
  };
}

/** An endpoint whose call is `handler` wrapped by the given endpoint filters, like the client builds. */
export function fakeEndpoint(
  id: string,
  handler: Service,
  filters: readonly EndpointFilterFactory[] = [],
): Endpoint & { calls: number; retired: boolean } {
  const endpoint = {
    instance: {
      id,
      service: 'test.Svc',
      address: `127.0.0.1:${1000 + id.length}`,
      weight: 1,
      metadata: {},
      status: 'UP' as const,
      registeredAt: 0,
    },
    status: 'open' as Endpoint['status'],
    load: newLoad(),
    firstSeenMs: 0,
    calls: 0,
    retired: false,
    call: undefined as unknown as Service,
  };
  const counted: Service = (req, ctx) => {
    endpoint.calls++;
    return handler(req, ctx);
  };
  endpoint.call = compose(...filters.map((f) => f(endpoint)))(counted);
  return endpoint;
}

/** Round-robin that honours ctx.avoid, like the real balancers. */
export function fakeBalancer(): Balancer {
  let i = 0;
  return {
    name: 'fake-rr',
    pick(endpoints, ctx) {
      for (let k = 0; k < endpoints.length; k++) {
        const e = endpoints[i++ % endpoints.length]!;
        if (!isAvoided(e, ctx)) return e;
      }
      return endpoints[0];
    },
  };
}

export function fakeDirectory(endpoints: readonly Endpoint[], balancer = fakeBalancer()): Directory {
  return {
    service: 'test.Svc',
    balancer,
    all: () => endpoints,
    routable: () => endpoints.filter((e) => e.status === 'open'),
  };
}

/** A promise whose settlement the test controls. */
export function deferred<T = unknown>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A service that never answers until its signal aborts, then rejects with the reason. */
export const hangs: Service = (_req, ctx) =>
  new Promise((_, reject) =>
    ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }),
  );
