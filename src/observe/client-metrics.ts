import type { Registry } from 'prom-client';
import { type Disposable, disposable, type Event } from '../core/events.js';
import { counter, pulled } from './prom.js';

/**
 * What `bindClientMetrics` reads from a client: `createClient(...)` has both members. Typed
 * structurally so this module imports nothing from src/client or src/policy.
 */
export interface MetricsClientSource {
  readonly $events: {
    readonly onRetry?: Event<unknown>;
    readonly onGiveUp?: Event<unknown>;
    readonly onBreak?: Event<{ readonly instance?: string }>;
    readonly onHalfOpen?: Event<{ readonly instance?: string }>;
    readonly onReset?: Event<{ readonly instance?: string }>;
    readonly onEject?: Event<{ readonly instance: string }>;
    readonly onUneject?: Event<{ readonly instance: string }>;
    readonly onPanic?: Event<{ readonly panic: boolean }>;
  };
  /** The service label, and the endpoints known now: series of instances that left are dropped. */
  readonly $directory: {
    readonly service: string;
    all(): readonly { readonly instance: { readonly id: string } }[];
  };
}

export interface ClientMetricsOptions {
  registry: Registry;
  client: MetricsClientSource;
}

const BREAKER_STATES = ['open', 'half_open'] as const;
type OpenState = (typeof BREAKER_STATES)[number];

/**
 * Counters and gauges for one client's resilience events, labelled with its service:
 * `tensile_retries_total`, `tensile_retry_give_ups_total`, `tensile_breaker_transitions_total{state}`,
 * `tensile_breaker_state{instance,state}` (only breakers not closed), `tensile_ejections_total`,
 * `tensile_ejected_endpoints`, `tensile_panics_total` and `tensile_panic_mode` (1 in panic mode).
 */
export function bindClientMetrics({ registry, client }: ClientMetricsOptions): Disposable {
  const rpc_service = client.$directory.service;
  const labels = { rpc_service };
  const serviceLabel = ['rpc_service'] as const;
  const retries = counter(registry, {
    name: 'tensile_retries_total',
    help: 'Attempts retried.',
    labelNames: serviceLabel,
  });
  const giveUps = counter(registry, {
    name: 'tensile_retry_give_ups_total',
    help: 'Calls that failed with no attempts, retry budget or time left.',
    labelNames: serviceLabel,
  });
  const transitions = counter(registry, {
    name: 'tensile_breaker_transitions_total',
    help: 'Circuit breaker state changes, by the state entered.',
    labelNames: ['rpc_service', 'state'],
  });
  const ejections = counter(registry, {
    name: 'tensile_ejections_total',
    help: 'Instances ejected by outlier detection.',
    labelNames: serviceLabel,
  });
  const panics = counter(registry, {
    name: 'tensile_panics_total',
    help: 'Times the client entered panic mode (no healthy endpoint, calls go to all).',
    labelNames: serviceLabel,
  });

  // Kept here and read at scrape time, so entries of instances that left the directory
  // (whose breaker or ejection will never report again) are dropped instead of piling up.
  const breakers = new Map<string, OpenState>();
  const ejected = new Set<string>();
  let panic = false;
  const prune = () => {
    if (breakers.size === 0 && ejected.size === 0) return;
    const known = new Set(client.$directory.all().map((e) => e.instance.id));
    for (const id of breakers.keys()) if (!known.has(id)) breakers.delete(id);
    for (const id of ejected) if (!known.has(id)) ejected.delete(id);
  };

  const ev = client.$events;
  const subs: (Disposable | undefined)[] = [
    ev.onRetry?.(() => retries.inc(labels)),
    ev.onGiveUp?.(() => giveUps.inc(labels)),
    ev.onBreak?.((e) => {
      transitions.inc({ rpc_service, state: 'open' });
      if (e.instance !== undefined) breakers.set(e.instance, 'open');
    }),
    ev.onHalfOpen?.((e) => {
      transitions.inc({ rpc_service, state: 'half_open' });
      if (e.instance !== undefined) breakers.set(e.instance, 'half_open');
    }),
    ev.onReset?.((e) => {
      transitions.inc({ rpc_service, state: 'closed' });
      if (e.instance !== undefined) breakers.delete(e.instance);
    }),
    ev.onEject?.((e) => {
      ejections.inc(labels);
      ejected.add(e.instance);
    }),
    ev.onUneject?.((e) => ejected.delete(e.instance)),
    ev.onPanic?.((e) => {
      if (e.panic && !panic) panics.inc(labels);
      panic = e.panic;
    }),
    pulled(
      registry,
      'gauge',
      {
        name: 'tensile_breaker_state',
        help: 'Circuit breakers not closed: 1 for the current state (open, half_open), 0 for the other.',
        labelNames: ['rpc_service', 'instance', 'state'],
      },
      (set) => {
        prune();
        for (const [instance, now] of breakers)
          for (const state of BREAKER_STATES) set({ rpc_service, instance, state }, state === now ? 1 : 0);
      },
    ),
    pulled(
      registry,
      'gauge',
      {
        name: 'tensile_ejected_endpoints',
        help: 'Endpoints currently ejected by outlier detection.',
        labelNames: serviceLabel,
      },
      (set) => {
        prune();
        set(labels, ejected.size);
      },
    ),
    pulled(
      registry,
      'gauge',
      {
        name: 'tensile_panic_mode',
        help: '1 while the client is in panic mode (no healthy endpoint), else 0.',
        labelNames: serviceLabel,
      },
      (set) => set(labels, panic ? 1 : 0),
    ),
  ];
  return disposable(() => {
    for (const s of subs) s?.dispose();
  });
}

/** A refusal by a limiting filter: `adaptiveConcurrency`, `bulkhead`, `rateLimit`, `adaptiveThrottle`. */
export interface ShedMetricsEvent {
  /** Full method name, `service/method`. */
  readonly method: string;
  /** Which filter refused (`adaptive-concurrency`, `bulkhead`, …). */
  readonly policy: string;
}

export interface ShedMetricsOptions {
  registry: Registry;
  /** The filters' `onShed` events. */
  events: Event<ShedMetricsEvent> | readonly Event<ShedMetricsEvent>[];
}

/**
 * `tensile_shed_calls_total{rpc_service,policy}`: calls refused to protect capacity. On a
 * server, filters run only for methods the router knows, so the service label stays bounded.
 */
export function bindShedMetrics({ registry, events }: ShedMetricsOptions): Disposable {
  const shed = counter(registry, {
    name: 'tensile_shed_calls_total',
    help: 'Calls refused to protect capacity (load shedding, bulkheads, rate limits).',
    labelNames: ['rpc_service', 'policy'],
  });
  const list: readonly Event<ShedMetricsEvent>[] = Array.isArray(events) ? events : [events];
  const subs = list.map((event) =>
    event((e) => {
      const slash = e.method.lastIndexOf('/');
      shed.inc({ rpc_service: slash === -1 ? '' : e.method.slice(0, slash), policy: e.policy });
    }),
  );
  return disposable(() => {
    for (const s of subs) s.dispose();
  });
}
