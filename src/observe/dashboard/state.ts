import { createEmitter, type Event } from '../../core/events.js';
import type { Instance } from '../../registry/instance.js';
import { Ring } from './ring.js';
import type {
  ClientCounters,
  DashboardDelta,
  DashboardEvent,
  DashboardSnapshot,
  DecisionPoint,
  EndpointView,
  EventKind,
  InstanceView,
  StatsPoint,
  StatsSample,
} from './types.js';

export interface DashboardStateOptions {
  /** Points kept per instance and chart; default 120 (two minutes at one poll a second). */
  seriesLength?: number;
  /** Recent events kept; default 200. */
  maxEvents?: number;
  /** Decisions kept per autoscaled service; default 600. */
  timelineLength?: number;
  /** Autoscaled services with a timeline; the oldest is dropped beyond this; default 20. */
  maxTimelines?: number;
  /** Instances listed in a snapshot (the rest are counted); default 1000. */
  maxSnapshotInstances?: number;
  pollIntervalMs?: number;
  now?: () => number;
}

const keyOf = (service: string, id: string) => `${service}\0${id}`;

/**
 * Everything the dashboard shows, in bounded structures: a mirror of the registry's
 * instances, a ring of stats per polled instance, a ring of decisions per autoscaled
 * service and a ring of recent events. Every change is also emitted as a delta for the
 * live stream.
 */
export class DashboardState {
  private readonly instances = new Map<string, InstanceView>();
  private readonly series = new Map<string, Ring<StatsPoint>>();
  private readonly latest = new Map<string, StatsSample>();
  private readonly timelines = new Map<string, Ring<DecisionPoint>>();
  private readonly events: Ring<DashboardEvent>;
  private endpoints: EndpointView[] = [];
  private seq = 0;
  readonly counters: ClientCounters = { retries: 0, giveUps: 0, hedges: 0 };
  readonly attached = { autoscalers: 0, clients: 0 };
  private readonly emitter = createEmitter<DashboardDelta>();
  private readonly o: Required<Omit<DashboardStateOptions, 'now'>>;
  readonly now: () => number;

  constructor(options: DashboardStateOptions = {}) {
    this.o = {
      seriesLength: options.seriesLength ?? 120,
      maxEvents: options.maxEvents ?? 200,
      timelineLength: options.timelineLength ?? 600,
      maxTimelines: options.maxTimelines ?? 20,
      maxSnapshotInstances: options.maxSnapshotInstances ?? 1000,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
    };
    this.now = options.now ?? Date.now;
    this.events = new Ring(this.o.maxEvents);
  }

  /** Deltas in the order they happened; listeners run synchronously. */
  get deltas(): Event<DashboardDelta> {
    return this.emitter.event;
  }

  /** Instances now, in registry order (service, then id). */
  instanceList(): InstanceView[] {
    return [...this.instances.values()].sort((a, b) => cmp(a.service, b.service) || cmp(a.id, b.id));
  }

  /** Adds or updates an instance; returns its previous status (undefined when new). */
  upsert(instance: Instance): InstanceView['status'] | undefined {
    const key = keyOf(instance.service, instance.id);
    const prior = this.instances.get(key)?.status;
    const view: InstanceView = {
      service: instance.service,
      id: instance.id,
      address: instance.address,
      status: instance.status,
      weight: instance.weight,
      registeredAt: instance.registeredAt,
      metadata: { ...instance.metadata },
      ...(instance.zone === undefined ? {} : { zone: instance.zone }),
    };
    this.instances.set(key, view);
    this.emit({ type: 'instance', data: { ...view, total: this.instances.size } });
    return prior;
  }

  remove(service: string, id: string): boolean {
    const key = keyOf(service, id);
    if (!this.instances.delete(key)) return false;
    this.series.delete(key);
    this.latest.delete(key);
    this.emit({ type: 'remove', data: { service, id, total: this.instances.size } });
    return true;
  }

  /** One poll's results: answered instances get a point; the client views are replaced. */
  recordStats(at: number, samples: readonly StatsSample[], endpoints: readonly EndpointView[]): void {
    for (const s of samples) {
      const key = keyOf(s.service, s.id);
      // A reply that arrives after its instance left is not resurrected.
      if (!this.instances.has(key)) continue;
      let ring = this.series.get(key);
      if (!ring) this.series.set(key, (ring = new Ring(this.o.seriesLength)));
      ring.push({ at: s.at, rate: s.rate, p99Ms: s.p99Ms, inflight: s.inflight });
      this.latest.set(key, s);
    }
    this.endpoints = [...endpoints];
    this.emit({
      type: 'stats',
      data: { at, samples: [...samples], endpoints: this.endpoints, counters: { ...this.counters } },
    });
  }

  recordDecision(point: DecisionPoint): void {
    let ring = this.timelines.get(point.service);
    if (!ring) {
      if (this.timelines.size >= this.o.maxTimelines) {
        const oldest = this.timelines.keys().next().value;
        if (oldest !== undefined) this.timelines.delete(oldest);
      }
      this.timelines.set(point.service, (ring = new Ring(this.o.timelineLength)));
    }
    ring.push(point);
    this.emit({ type: 'decision', data: point });
  }

  recordEvent(kind: EventKind, text: string, service?: string, instance?: string): DashboardEvent {
    const event: DashboardEvent = {
      seq: ++this.seq,
      at: this.now(),
      kind,
      ...(service === undefined ? {} : { service }),
      ...(instance === undefined ? {} : { instance }),
      text,
    };
    this.events.push(event);
    this.emit({ type: 'event', data: event });
    return event;
  }

  setAttached(autoscalers: number, clients: number): void {
    this.attached.autoscalers = autoscalers;
    this.attached.clients = clients;
    this.emit({ type: 'attached', data: { ...this.attached } });
  }

  /** Points kept for one instance (for tests and tools). */
  seriesOf(service: string, id: string): StatsPoint[] {
    return this.series.get(keyOf(service, id))?.toArray() ?? [];
  }

  eventList(): DashboardEvent[] {
    return this.events.toArray();
  }

  timelineOf(service: string): DecisionPoint[] {
    return this.timelines.get(service)?.toArray() ?? [];
  }

  snapshot(): DashboardSnapshot {
    const all = this.instanceList();
    const instances = all.slice(0, this.o.maxSnapshotInstances);
    const listed = new Set(instances.map((i) => keyOf(i.service, i.id)));
    const series: DashboardSnapshot['series'] = [];
    const latest: StatsSample[] = [];
    for (const [key, ring] of this.series) {
      if (!listed.has(key)) continue;
      const i = this.instances.get(key)!;
      series.push({ service: i.service, id: i.id, points: ring.toArray() });
      const l = this.latest.get(key);
      if (l) latest.push(l);
    }
    return {
      now: this.now(),
      pollIntervalMs: this.o.pollIntervalMs,
      seriesLength: this.o.seriesLength,
      instances,
      hiddenInstances: all.length - instances.length,
      series,
      latest,
      endpoints: this.endpoints,
      timelines: [...this.timelines].map(([service, ring]) => ({ service, points: ring.toArray() })),
      events: this.events.toArray(),
      counters: { ...this.counters },
      attached: { ...this.attached },
    };
  }

  private emit(delta: DashboardDelta): void {
    this.emitter.emit(delta);
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
