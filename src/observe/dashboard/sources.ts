import type { SlowStart } from '../../balance/slow-start.js';
import type { Directory } from '../../client/endpoint-types.js';
import { type Disposable, disposable, type Event } from '../../core/events.js';
import type { ClientPolicyEvents } from '../../policy/defaults.js';
import type { ScaleDecision } from '../../scale/policy.js';
import type { DashboardState } from './state.js';
import type { BreakerState, DecisionPoint, EndpointView } from './types.js';

/** What the dashboard reads from an autoscaler: `createAutoscaler(...)` fits. */
export interface AutoscalerSource {
  readonly service: string;
  readonly onDecision: Event<ScaleDecision>;
}

/** What the dashboard reads from a client: `createClient(...)` fits. */
export interface ClientSource {
  readonly $events: ClientPolicyEvents;
  readonly $directory: Directory;
}

export interface AttachSources {
  /** Its decisions feed the replicas-versus-load timeline and the events list. */
  autoscaler?: AutoscalerSource;
  /** Its breaker, ejection and retry events, and its endpoints' status. */
  client?: ClientSource;
  /** The client balancer's slow start, so the dashboard can show each endpoint's ramp. */
  slowStart?: SlowStart;
}

interface AttachedClient {
  source: ClientSource;
  slowStart?: SlowStart;
  breakers: Map<string, BreakerState>;
  ejected: Set<string>;
}

/** Turns an autoscaler decision into a timeline point: the signal asking for most replicas is the load. */
export function decisionPoint(service: string, d: ScaleDecision): DecisionPoint {
  let top: ScaleDecision['signals'][number] | undefined;
  for (const s of d.signals) {
    if (s.average === undefined) continue;
    if (!top || (s.desired ?? 0) > (top.desired ?? 0)) top = s;
  }
  return {
    service,
    at: d.at,
    current: d.current,
    desired: d.desired,
    direction: d.direction,
    reason: d.reason,
    ...(top ? { signal: top.name, load: top.average!, target: top.target } : {}),
    ready: d.ready,
    starting: d.starting,
    limits: [...d.limits],
  };
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
const secs = (ms: number) => `${Math.round(ms / 100) / 10}s`;

/** Subscriptions of attached autoscalers and clients, feeding one DashboardState. */
export class Sources {
  private readonly clients = new Set<AttachedClient>();
  private readonly attachments = new Set<Disposable>();
  private autoscalers = 0;

  constructor(private readonly state: DashboardState) {}

  attach(sources: AttachSources): Disposable {
    const subs: Disposable[] = [];
    const { autoscaler, client } = sources;
    if (autoscaler) {
      const service = autoscaler.service;
      subs.push(
        autoscaler.onDecision((d) => {
          this.state.recordDecision(decisionPoint(service, d));
          if (d.direction !== 'none') this.state.recordEvent('scale', d.reason, service);
        }),
      );
      this.autoscalers++;
      this.state.recordEvent('attach', 'autoscaler attached', service);
      subs.push(disposable(() => this.autoscalers--));
    }
    if (client) {
      const entry: AttachedClient = {
        source: client,
        ...(sources.slowStart ? { slowStart: sources.slowStart } : {}),
        breakers: new Map(),
        ejected: new Set(),
      };
      subs.push(...this.subscribeClient(entry));
      this.clients.add(entry);
      this.state.recordEvent('attach', 'client attached', client.$directory.service);
      subs.push(disposable(() => this.clients.delete(entry)));
    }
    this.state.setAttached(this.autoscalers, this.clients.size);
    const attachment = disposable(() => {
      this.attachments.delete(attachment);
      for (const s of subs) s.dispose();
      this.state.setAttached(this.autoscalers, this.clients.size);
      if (autoscaler) this.state.recordEvent('detach', 'autoscaler detached', autoscaler.service);
      if (client) this.state.recordEvent('detach', 'client detached', client.$directory.service);
    });
    this.attachments.add(attachment);
    return attachment;
  }

  /** Detaches everything (the registry is closing): no subscription outlives the dashboard. */
  close(): void {
    for (const a of [...this.attachments]) a.dispose();
  }

  /** Every attached client's endpoints now, with breaker, ejection and ramp. */
  endpointViews(): EndpointView[] {
    const views: EndpointView[] = [];
    for (const c of this.clients) {
      const service = c.source.$directory.service;
      const ramp = c.slowStart;
      const at = ramp?.now();
      const all = c.source.$directory.all();
      // An instance that left never reports its breaker or ejection again: forget both, or a
      // later endpoint with the same id (a restart at the same address) would inherit them.
      if (c.breakers.size > 0 || c.ejected.size > 0) {
        const known = new Set(all.map((e) => e.instance.id));
        for (const id of c.breakers.keys()) if (!known.has(id)) c.breakers.delete(id);
        for (const id of c.ejected) if (!known.has(id)) c.ejected.delete(id);
      }
      for (const e of all) {
        const id = e.instance.id;
        const breaker = c.breakers.get(id);
        views.push({
          service,
          id,
          status: e.status,
          ...(breaker ? { breaker } : {}),
          ...(c.ejected.has(id) ? { ejected: true } : {}),
          ...(ramp ? { ramp: Math.round(ramp.factor(e, at!) * 1000) / 1000 } : {}),
        });
      }
    }
    return views;
  }

  private subscribeClient(c: AttachedClient): Disposable[] {
    const ev = c.source.$events;
    const service = c.source.$directory.service;
    const counters = this.state.counters;
    const subs: (Disposable | undefined)[] = [
      ev.onBreak?.((e) => {
        c.breakers.set(e.instance ?? '', 'open');
        this.state.recordEvent(
          'breaker',
          `circuit open: ${pct(e.failureRate)} failed, ${pct(e.slowCallRate)} slow of ${e.calls} calls; probe in ${secs(e.openMs)}`,
          service,
          e.instance,
        );
      }),
      ev.onHalfOpen?.((e) => {
        c.breakers.set(e.instance ?? '', 'half-open');
        this.state.recordEvent('breaker', 'circuit half-open: probing', service, e.instance);
      }),
      ev.onReset?.((e) => {
        c.breakers.delete(e.instance ?? '');
        this.state.recordEvent('breaker', 'circuit closed', service, e.instance);
      }),
      ev.onEject?.((e) => {
        c.ejected.add(e.instance);
        const why =
          e.reason === 'success-rate' && e.successRate !== undefined
            ? `success rate ${pct(e.successRate)} below ${pct(e.threshold ?? 0)}`
            : e.reason.replace('-', ' ');
        this.state.recordEvent(
          'eject',
          `ejected (${why}) for ${secs(e.ejectionMs)}, time ${e.timesEjected}`,
          service,
          e.instance,
        );
      }),
      ev.onUneject?.((e) => {
        c.ejected.delete(e.instance);
        this.state.recordEvent('uneject', 'back in rotation', service, e.instance);
      }),
      // Retries can come by the thousand: they are counted, not listed.
      ev.onRetry?.(() => counters.retries++),
      ev.onGiveUp?.(() => counters.giveUps++),
      ev.onHedge?.(() => counters.hedges++),
    ];
    return subs.filter((s): s is Disposable => s !== undefined);
  }
}
