import type { Registry } from 'prom-client';
import { type Disposable, disposable, type Event } from '../core/events.js';
import { counter, pulled } from './prom.js';

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
  /**
   * Distinct `service` label values; later services are counted as `_other`. Registrants
   * choose service names, so without a cap they could create series without bound. Default 100.
   */
  maxServices?: number;
}

/** The label value for services beyond the cap. */
export const OTHER_SERVICES = '_other';

// Services given a label of their own, per prom-client Registry, so bindings that share
// series also share the cap. First come, kept for good: a counter's series must not move.
const admittedServices = new WeakMap<Registry, Set<string>>();

function serviceLabel(registry: Registry, max: number): (service: string) => string {
  let admitted = admittedServices.get(registry);
  if (!admitted) admittedServices.set(registry, (admitted = new Set()));
  const set = admitted;
  return (service) => {
    if (set.has(service)) return service;
    if (set.size >= max) return OTHER_SERVICES;
    set.add(service);
    return service;
  };
}

/**
 * `tensile_registry_instances{service,status}`, `tensile_registry_lease_renewals_total`
 * (the `renewals` total plus `renew` events) and `tensile_registry_changes_total{service,type}`
 * for register, deregister and expire events.
 */
export function bindRegistryMetrics(options: RegistryMetricsOptions): Disposable {
  const { registry, instances, renewals, events } = options;
  const parts: Disposable[] = [];
  const label = serviceLabel(registry, options.maxServices ?? 100);
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
          for (const instance of instances()) {
            const service = label(instance.service);
            const status = instance.status;
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
          changes.inc({ service: label(e.service), type: e.type });
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

/** What is read from an autoscaler; `createAutoscaler(...)` has all of it. */
export interface AutoscalerMetricsSource {
  readonly service: string;
  /** Undefined before the first decision, and then there are no replica series yet. */
  readonly lastDecision: ScaleEvent | undefined;
  readonly onDecision?: Event<ScaleEvent>;
}

/** State read on every scrape: an autoscaler's last decision, or two functions. */
export type AutoscalerState =
  | { readonly lastDecision: ScaleEvent | undefined }
  | { current(): number | undefined; desired(): number | undefined };

export interface AutoscalerMetricsOptions {
  registry: Registry;
  /** Its service labels the series, its last decision is read on scrape and its decisions counted. */
  autoscaler?: AutoscalerMetricsSource;
  /** Label for the series; default the autoscaler's service. Events may carry their own. */
  service?: string;
  /** Read on every scrape; default `autoscaler`. */
  state?: AutoscalerState;
  /** Decisions as they are made; default `autoscaler.onDecision`. The last one is reported when there is no state. */
  decisions?: Event<ScaleEvent>;
}

function readState(state: AutoscalerState, pick: 'current' | 'desired'): number | undefined {
  if ('lastDecision' in state) return state.lastDecision?.[pick];
  return typeof state[pick] === 'function' ? state[pick]() : undefined;
}

/**
 * `tensile_autoscaler_current_replicas`, `tensile_autoscaler_desired_replicas` (by service) and
 * `tensile_autoscaler_decisions_total{service,direction}` (up, down, none).
 */
export function bindAutoscalerMetrics(options: AutoscalerMetricsOptions): Disposable {
  const { registry, autoscaler } = options;
  const state = options.state ?? autoscaler;
  const decisions = options.decisions ?? autoscaler?.onDecision;
  const ownService = options.service ?? autoscaler?.service ?? '';
  const labelNames = ['service'] as const;
  const last = new Map<string, ScaleEvent>();
  const report = (pick: 'current' | 'desired') => (set: (l: { service: string }, v: number) => void) => {
    if (state) {
      // No series until there is a value: a 0 would read as "scaled to nothing".
      const value = readState(state, pick);
      if (typeof value === 'number' && Number.isFinite(value)) set({ service: ownService }, value);
    } else for (const [service, e] of last) set({ service }, e[pick]);
  };
  const parts: Disposable[] = [
    pulled(
      registry,
      'gauge',
      {
        name: 'tensile_autoscaler_current_replicas',
        help: 'Replicas running when the autoscaler last decided.',
        labelNames,
      },
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
        const service = e.service ?? ownService;
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
