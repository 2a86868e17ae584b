import type { Endpoint, EndpointFilterFactory } from '../client/endpoint-types.js';
import { createEmitter, type Event } from '../core/events.js';
import { invoke } from '../core/service.js';
import { classifyAttempt, type FailureClassifier, isFailure } from './classify.js';
import { type Clock, systemClock, type TimerHandle, unref } from './clock.js';
import { eject, isEjectedBy, release } from './eject.js';

export interface OutlierOptions {
  /** Eject after this many failures in a row. Default 5 (Envoy consecutive_5xx). */
  consecutiveFailures?: number;
  /** How often success rates are compared and ejections expire. Default 10 s (Envoy interval). */
  intervalMs?: number;
  /** Ejection time is this × times ejected. Default 30 s (Envoy base_ejection_time). */
  baseEjectionMs?: number;
  /** Cap on one ejection. Default 300 s (Envoy max_ejection_time). */
  maxEjectionMs?: number;
  /** Share of hosts that may be ejected at once; at least one always may. Default 0.1 (Envoy). */
  maxEjectedShare?: number;
  /** Success-rate outlier: below mean − factor × stdev. Default 1.9 (Envoy success_rate_stdev_factor 1900). */
  stdevFactor?: number;
  /** Hosts need this many calls in an interval to count. Default 100 (Envoy success_rate_request_volume). */
  requestVolume?: number;
  /** Success-rate detection needs this many hosts with enough volume. Default 5 (Envoy). */
  minimumHosts?: number;
  /** Hosts without calls or ejection for this long are forgotten. Default 5 min. */
  forgetAfterMs?: number;
  isFailure?: FailureClassifier;
  clock?: Clock;
}

export interface EjectEvent {
  instance: string;
  reason: 'consecutive-failures' | 'success-rate';
  ejectionMs: number;
  timesEjected: number;
  /** For success-rate ejections: this host's rate and the threshold it fell below. */
  successRate?: number;
  threshold?: number;
}

export interface UnejectEvent {
  instance: string;
}

export interface OutlierDetector {
  /** Install among the client's endpoint filters (after the breaker, before load tracking). */
  readonly filter: EndpointFilterFactory;
  readonly onEject: Event<EjectEvent>;
  readonly onUneject: Event<UnejectEvent>;
  /** Runs one interval's sweep now; the timer calls it, tests may too. */
  sweep(): void;
  /** Instance ids ejected now. */
  ejected(): string[];
  /** Stops the interval timer and releases every ejection. */
  dispose(): void;
}

interface Host {
  endpoint: Endpoint;
  consecutive: number;
  calls: number;
  successes: number;
  timesEjected: number;
  ejectedUntil: number;
  lastActive: number;
  /** Whether `hosts` holds this record; a sweep forgets idle hosts, a call brings them back. */
  tracked: boolean;
}

/**
 * Envoy-style outlier detection shared by all endpoints of one client: an instance is
 * ejected after consecutive failures, or when its success rate over an interval falls
 * well below its peers'. Ejections grow with each repeat and wear off while the host
 * stays healthy, and never take out more than a set share of the fleet.
 */
export function outlierDetection(options: OutlierOptions = {}): OutlierDetector {
  const consecutiveLimit = options.consecutiveFailures ?? 5;
  const intervalMs = options.intervalMs ?? 10_000;
  const baseMs = options.baseEjectionMs ?? 30_000;
  const maxMs = options.maxEjectionMs ?? 300_000;
  const maxShare = options.maxEjectedShare ?? 0.1;
  const stdevFactor = options.stdevFactor ?? 1.9;
  const volume = options.requestVolume ?? 100;
  const minimumHosts = options.minimumHosts ?? 5;
  const forgetAfterMs = options.forgetAfterMs ?? 300_000;
  const classifier = options.isFailure ?? isFailure;
  const clock = options.clock ?? systemClock;
  if (!(consecutiveLimit >= 1 && intervalMs > 0 && baseMs > 0 && maxMs >= baseMs))
    throw new RangeError('outlierDetection: invalid counts or durations');
  if (!(maxShare >= 0 && maxShare <= 1)) throw new RangeError('outlierDetection: maxEjectedShare in [0, 1]');

  const hosts = new Map<string, Host>();
  const ejects = createEmitter<EjectEvent>();
  const unejects = createEmitter<UnejectEvent>();
  let timer: TimerHandle | undefined;
  let disposed = false;

  const schedule = () => {
    if (timer === undefined) timer = unref(clock.setTimeout(tick, intervalMs));
  };
  const tick = () => {
    timer = undefined;
    sweep();
    if (hosts.size > 0) schedule();
  };

  // A host is live while ejected or if it had calls in this or the last two intervals (or
  // was just created). A host its directory dropped is forgotten at once (see `retired`),
  // but an endpoint without a directory gives no such signal, and counting every known host
  // would let a scale-down (20 → 3) eject most of the survivors. Idle live hosts are left
  // out too, which only lowers the cap: the detector errs towards ejecting fewer hosts.
  const isLive = (host: Host, now: number) =>
    host.ejectedUntil > 0 || host.calls > 0 || now - host.lastActive <= 2 * intervalMs;

  // A retired host is gone for good: holding its ejection until it expires (up to
  // maxEjectionMs) would keep a live failing host in a small fleet from being ejected.
  const forget = (id: string, host: Host) => {
    if (host.ejectedUntil > 0) unEject(host);
    hosts.delete(id);
    host.tracked = false;
  };

  // Derived, not counted, so a forgotten or replaced host cannot leak a share of the cap.
  // Retired hosts are forgotten here as well as in the sweep: an ejection decided between
  // sweeps must not count a host that already left.
  const mayEject = () => {
    const now = clock.now();
    let live = 0;
    let ejectedNow = 0;
    for (const [id, host] of hosts) {
      if (host.endpoint.retired) {
        forget(id, host);
        continue;
      }
      if (host.ejectedUntil > 0) ejectedNow++;
      if (isLive(host, now)) live++;
    }
    return ejectedNow < Math.max(1, Math.floor(live * maxShare));
  };

  const doEject = (host: Host, event: Omit<EjectEvent, 'instance' | 'ejectionMs' | 'timesEjected'>) => {
    if (!host.tracked || host.ejectedUntil > 0 || !mayEject()) return;
    host.timesEjected++;
    const ms = Math.min(maxMs, baseMs * host.timesEjected);
    host.ejectedUntil = clock.now() + ms;
    host.consecutive = 0;
    eject(host.endpoint, 'outlier');
    ejects.emit({
      instance: host.endpoint.instance.id,
      ejectionMs: ms,
      timesEjected: host.timesEjected,
      ...event,
    });
  };

  const unEject = (host: Host) => {
    host.ejectedUntil = 0;
    release(host.endpoint, 'outlier');
    unejects.emit({ instance: host.endpoint.instance.id });
  };

  function sweep(): void {
    const now = clock.now();
    const rates: { host: Host; rate: number }[] = [];
    for (const [id, host] of hosts) {
      if (host.endpoint.retired) {
        forget(id, host);
        continue;
      }
      if (host.ejectedUntil > 0) {
        if (now >= host.ejectedUntil) unEject(host);
      } else if (host.timesEjected > 0 && host.calls > 0 && host.consecutive === 0) {
        // A healthy interval wears one ejection off the multiplier (Envoy does the same).
        host.timesEjected--;
      }
      if (host.calls > 0) host.lastActive = now;
      else if (host.ejectedUntil === 0 && now - host.lastActive >= forgetAfterMs) {
        hosts.delete(id);
        host.tracked = false;
        continue;
      }
      if (host.calls >= volume && host.ejectedUntil === 0)
        rates.push({ host, rate: host.successes / host.calls });
      host.calls = host.successes = 0;
    }
    if (rates.length < minimumHosts) return;
    let sum = 0;
    for (const r of rates) sum += r.rate;
    const mean = sum / rates.length;
    let sq = 0;
    for (const r of rates) sq += (r.rate - mean) ** 2;
    const threshold = mean - stdevFactor * Math.sqrt(sq / rates.length);
    // Worst first, so the share cap keeps the clearest outliers.
    rates.sort((a, b) => a.rate - b.rate);
    for (const r of rates) {
      if (r.rate >= threshold) break;
      doEject(r.host, { reason: 'success-rate', successRate: r.rate, threshold });
    }
  }

  const record = (host: Host, failure: boolean) => {
    // A call that finishes after its endpoint left must not track it again.
    if (disposed || host.endpoint.retired) return;
    // Forgotten while idle but called again: track it (and sweep) again, or an ejection
    // made now would never be released. A record replaced by a newer endpoint stays out.
    if (!host.tracked && !hosts.has(host.endpoint.instance.id)) {
      host.tracked = true;
      host.lastActive = clock.now();
      hosts.set(host.endpoint.instance.id, host);
      schedule();
    }
    host.calls++;
    if (!failure) {
      host.successes++;
      host.consecutive = 0;
    } else if (++host.consecutive >= consecutiveLimit) {
      doEject(host, { reason: 'consecutive-failures' });
    }
  };

  const filter: EndpointFilterFactory = (endpoint) => {
    const id = endpoint.instance.id;
    const host: Host = {
      endpoint,
      consecutive: 0,
      calls: 0,
      successes: 0,
      timesEjected: 0,
      ejectedUntil: 0,
      lastActive: clock.now(),
      tracked: !disposed,
    };
    const previous = hosts.get(id);
    if (previous) {
      if (previous.ejectedUntil > 0) unEject(previous);
      previous.tracked = false;
    }
    if (!disposed) {
      hosts.set(id, host);
      schedule();
    }
    // A promise chain rather than async/await: this runs on every attempt.
    return (req, ctx, next) =>
      invoke(next, req, ctx).then(
        (res) => {
          record(host, false);
          return res;
        },
        (err: unknown) => {
          const failure = classifyAttempt(err, ctx.signal, classifier);
          if (failure !== undefined) record(host, failure);
          throw err;
        },
      );
  };

  return {
    filter,
    onEject: ejects.event,
    onUneject: unejects.event,
    sweep,
    ejected: () =>
      [...hosts.values()]
        .filter((h) => isEjectedBy(h.endpoint, 'outlier'))
        .map((h) => h.endpoint.instance.id),
    dispose() {
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      disposed = true;
      for (const host of hosts.values()) {
        if (host.ejectedUntil > 0) unEject(host);
        host.tracked = false;
      }
      hosts.clear();
    },
  };
}
