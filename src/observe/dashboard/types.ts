import type { EndpointStatus } from '../../client/endpoint-types.js';
import type { InstanceStatus } from '../../registry/instance.js';

// What the dashboard sends to the browser: the JSON snapshot and the SSE deltas.

export interface InstanceView {
  service: string;
  id: string;
  address: string;
  status: InstanceStatus;
  zone?: string;
  weight: number;
  /** Epoch ms of the first registration. */
  registeredAt: number;
  metadata: Record<string, string>;
}

/** One per-second reading of an instance's built-in stats method. */
export interface StatsPoint {
  at: number;
  /** Calls completed per second over the instance's window. */
  rate: number;
  p99Ms: number;
  /** Calls in flight averaged over the last few seconds (steadier than the instant value). */
  inflight: number;
}

export interface StatsSample extends StatsPoint {
  service: string;
  id: string;
  uptimeMs: number;
  utilization: number;
  errors: number;
  shed: number;
  capacity?: number;
}

export type BreakerState = 'open' | 'half-open' | 'closed';

/** An endpoint as an attached client sees it. */
export interface EndpointView {
  service: string;
  id: string;
  status: EndpointStatus;
  breaker?: BreakerState;
  ejected?: boolean;
  /** Slow-start weight multiplier in [floor, 1], when the attach call named the ramp. */
  ramp?: number;
}

/** One autoscaler decision as the timeline plots it. */
export interface DecisionPoint {
  service: string;
  at: number;
  current: number;
  desired: number;
  direction: 'up' | 'down' | 'none';
  reason: string;
  /** The signal that asked for the most replicas, its fleet average and target. */
  signal?: string;
  load?: number;
  target?: number;
  ready: number;
  starting: number;
  limits: readonly string[];
}

export type EventKind =
  | 'register'
  | 'deregister'
  | 'expire'
  | 'status'
  | 'scale'
  | 'breaker'
  | 'eject'
  | 'uneject'
  | 'attach'
  | 'detach';

export interface DashboardEvent {
  seq: number;
  at: number;
  kind: EventKind;
  service?: string;
  instance?: string;
  text: string;
}

export interface ClientCounters {
  retries: number;
  giveUps: number;
  hedges: number;
}

export interface DashboardSnapshot {
  /** Server clock, so the page can compute ages with its own clock's offset. */
  now: number;
  pollIntervalMs: number;
  seriesLength: number;
  instances: InstanceView[];
  /** Instances beyond the snapshot cap, counted but not listed. */
  hiddenInstances: number;
  series: { service: string; id: string; points: StatsPoint[] }[];
  latest: StatsSample[];
  endpoints: EndpointView[];
  timelines: { service: string; points: DecisionPoint[] }[];
  events: DashboardEvent[];
  counters: ClientCounters;
  attached: { autoscalers: number; clients: number };
}

/**
 * Carried by instance deltas: a page that got a capped snapshot cannot tell an update of an
 * instance it was not shown from a new one, so it takes the count from the registry.
 */
export interface InstanceCount {
  /** Instances the registry has now, listed in the snapshot or not. */
  total: number;
}

/** SSE messages after the first `snapshot`; the event name is `type`. */
export type DashboardDelta =
  | { type: 'instance'; data: InstanceView & InstanceCount }
  | { type: 'remove'; data: { service: string; id: string } & InstanceCount }
  | {
      type: 'stats';
      data: { at: number; samples: StatsSample[]; endpoints: EndpointView[]; counters: ClientCounters };
    }
  | { type: 'decision'; data: DecisionPoint }
  | { type: 'event'; data: DashboardEvent }
  | { type: 'attached'; data: { autoscalers: number; clients: number } };
