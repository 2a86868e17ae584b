import type { Registry } from 'prom-client';
import { type Disposable, disposable, type Event } from '../core/events.js';
import { counter, gauge, pulled } from './prom.js';

/**
 * What resilience policies report. Any event source of this shape can be bound; types not
 * listed are ignored, so a policy may emit other events on the same source.
 *
 * - `retry`: an attempt failed and another follows · `give-up`: no more attempts (limit or budget)
 * - `break` / `half-open` / `reset`: a circuit opened, let a probe through, closed again
 * - `eject` / `uneject`: outlier detection removed an instance or let it back
 * - `shed`: a call was refused to protect capacity (load shedding, bulkhead, rate limit)
 */
export interface PolicyEvent {
  readonly type: string;
  readonly service?: string;
  /** Instance id, for per-endpoint policies (breaker, outlier detection). */
  readonly instance?: string;
}

export interface PolicyMetricsOptions {
  registry: Registry;
  events: Event<PolicyEvent> | readonly Event<PolicyEvent>[];
}

const BREAKER_STATES = { break: 'open', 'half-open': 'half_open', reset: 'closed' } as const;

/**
 * Counters and gauges for resilience events: `tensile_retries_total`, `tensile_retry_give_ups_total`,
 * `tensile_breaker_transitions_total` and `tensile_breaker_state` (1 for the current state),
 * `tensile_ejections_total` and `tensile_ejected_endpoints`, `tensile_shed_calls_total`.
 */
export function bindPolicyMetrics({ registry, events }: PolicyMetricsOptions): Disposable {
  const service = ['rpc_service'] as const;
  const retries = counter(registry, {
    name: 'tensile_retries_total',
    help: 'Attempts retried.',
    labelNames: service,
  });
  const giveUps = counter(registry, {
    name: 'tensile_retry_give_ups_total',
    help: 'Calls that failed with no attempts or retry budget left.',
    labelNames: service,
  });
  const transitions = counter(registry, {
    name: 'tensile_breaker_transitions_total',
    help: 'Circuit breaker state changes, by the state entered.',
    labelNames: ['rpc_service', 'state'],
  });
  const state = gauge(registry, {
    name: 'tensile_breaker_state',
    help: 'Circuit breaker state: 1 for the current state of each breaker, 0 for the others.',
    labelNames: ['rpc_service', 'instance', 'state'],
  });
  const ejections = counter(registry, {
    name: 'tensile_ejections_total',
    help: 'Instances ejected by outlier detection.',
    labelNames: service,
  });
  const ejected = gauge(registry, {
    name: 'tensile_ejected_endpoints',
    help: 'Endpoints currently ejected by outlier detection.',
    labelNames: service,
  });
  const shed = counter(registry, {
    name: 'tensile_shed_calls_total',
    help: 'Calls refused to protect capacity (load shedding, bulkheads, rate limits).',
    labelNames: service,
  });

  // What this binding has set, so disposing it takes its series back out.
  const ejectedNow = new Map<string, string>();
  const breakers = new Map<string, { rpc_service: string; instance: string }>();

  const onEvent = (e: PolicyEvent) => {
    const rpc_service = e.service ?? '';
    switch (e.type) {
      case 'retry':
        return retries.inc({ rpc_service });
      case 'give-up':
        return giveUps.inc({ rpc_service });
      case 'shed':
        return shed.inc({ rpc_service });
      case 'break':
      case 'half-open':
      case 'reset': {
        const entered = BREAKER_STATES[e.type];
        transitions.inc({ rpc_service, state: entered });
        const who = { rpc_service, instance: e.instance ?? '' };
        breakers.set(`${rpc_service}\0${who.instance}`, who);
        for (const s of Object.values(BREAKER_STATES)) state.set({ ...who, state: s }, s === entered ? 1 : 0);
        return;
      }
      case 'eject': {
        ejections.inc({ rpc_service });
        const key = `${rpc_service}\0${e.instance ?? ''}`;
        if (!ejectedNow.has(key)) {
          ejectedNow.set(key, rpc_service);
          ejected.inc({ rpc_service });
        }
        return;
      }
      case 'uneject': {
        const key = `${rpc_service}\0${e.instance ?? ''}`;
        if (ejectedNow.delete(key)) ejected.dec({ rpc_service });
        return;
      }
    }
  };
  const subs = (Array.isArray(events) ? events : [events]).map((event: Event<PolicyEvent>) => event(onEvent));
  return disposable(() => {
    for (const s of subs) s.dispose();
    for (const rpc_service of ejectedNow.values()) ejected.dec({ rpc_service });
    for (const who of breakers.values())
      for (const s of Object.values(BREAKER_STATES)) state.remove({ ...who, state: s });
  });
}

/** Membership and lease events from a registry backend or server. */
export interface RegistryEvent {
  /** `register`, `deregister`, `expire` or `renew`; others are ignored. */
  readonly type: string;
  readonly service: string;
}

export interface RegistryMetricsOptions {
  registry: Registry;
  /** The registered instances now, read on every scrape. */
  instances?: () => Iterable<{ readonly service: string; readonly status: string }>;
  /** Lease renewals so far (a running total kept by the source), read on every scrape. */
  renewals?: () => number;
  events?: Event<RegistryEvent>;
}

/**
 * `tensile_registry_instances{service,status}`, `tensile_registry_lease_renewals_total`
 * (the `renewals` total plus `renew` events) and `tensile_registry_changes_total{service,type}`
 * for register, deregister and expire events.
 */
export function bindRegistryMetrics(options: RegistryMetricsOptions): Disposable {
  const { registry, instances, renewals, events } = options;
  const parts: Disposable[] = [];
  if (instances) {
    parts.push(
      pulled(
        registry,
        'gauge',
        {
          name: 'tensile_registry_instances',
          help: 'Registered instances by service and status.',
          labelNames: ['service', 'status'],
        },
        (set) => {
          const counts = new Map<string, { service: string; status: string; n: number }>();
          for (const { service, status } of instances()) {
            const key = `${service}\0${status}`;
            const c = counts.get(key);
            if (c) c.n++;
            else counts.set(key, { service, status, n: 1 });
          }
          for (const { service, status, n } of counts.values()) set({ service, status }, n);
        },
      ),
    );
  }
  let renewEvents = 0;
  if (renewals || events) {
    parts.push(
      pulled(
        registry,
        'counter',
        { name: 'tensile_registry_lease_renewals_total', help: 'Lease renewals.', labelNames: [] },
        (set) => set({}, (renewals?.() ?? 0) + renewEvents),
      ),
    );
  }
  if (events) {
    const changes = counter(registry, {
      name: 'tensile_registry_changes_total',
      help: 'Registrations, deregistrations and lease expiries.',
      labelNames: ['service', 'type'],
    });
    parts.push(
      events((e) => {
        if (e.type === 'renew') renewEvents++;
        else if (e.type === 'register' || e.type === 'deregister' || e.type === 'expire')
          changes.inc({ service: e.service, type: e.type });
      }),
    );
  }
  return disposable(() => {
    for (const p of parts) p.dispose();
  });
}

/** One autoscaler decision, as `ScaleDecision` in src/scale carries it. */
export interface ScaleEvent {
  readonly current: number;
  readonly desired: number;
  readonly direction?: string;
  readonly service?: string;
}

export interface AutoscalerMetricsOptions {
  registry: Registry;
  /** Label for the series; events may carry their own. */
  service?: string;
  /** Read on every scrape, for autoscalers that expose their state. */
  state?: { current(): number; desired(): number };
  /** Decisions as they are made; the last one is reported when there is no `state`. */
  decisions?: Event<ScaleEvent>;
}

/**
 * `tensile_autoscaler_current_replicas`, `tensile_autoscaler_desired_replicas` (by service) and
 * `tensile_autoscaler_decisions_total{service,direction}` (up, down, none).
 */
export function bindAutoscalerMetrics(options: AutoscalerMetricsOptions): Disposable {
  const { registry, state, decisions } = options;
  const labelNames = ['service'] as const;
  const last = new Map<string, ScaleEvent>();
  const report = (pick: 'current' | 'desired') => (set: (l: { service: string }, v: number) => void) => {
    if (state) set({ service: options.service ?? '' }, state[pick]());
    else for (const [service, e] of last) set({ service }, e[pick]);
  };
  const parts: Disposable[] = [
    pulled(
      registry,
      'gauge',
      { name: 'tensile_autoscaler_current_replicas', help: 'Replicas the scaler runs now.', labelNames },
      report('current'),
    ),
    pulled(
      registry,
      'gauge',
      { name: 'tensile_autoscaler_desired_replicas', help: 'Replicas the autoscaler wants.', labelNames },
      report('desired'),
    ),
  ];
  if (decisions) {
    const count = counter(registry, {
      name: 'tensile_autoscaler_decisions_total',
      help: 'Autoscaler decisions by direction.',
      labelNames: ['service', 'direction'],
    });
    parts.push(
      decisions((e) => {
        const service = e.service ?? options.service ?? '';
        last.set(service, e);
        const direction =
          e.direction ?? (e.desired > e.current ? 'up' : e.desired < e.current ? 'down' : 'none');
        count.inc({ service, direction });
      }),
    );
  }
  return disposable(() => {
    for (const p of parts) p.dispose();
  });
}
