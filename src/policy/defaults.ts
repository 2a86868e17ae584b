import type { Cluster, EndpointFilterFactory } from '../client/endpoint-types.js';
import type { Event } from '../core/events.js';
import type { Filter } from '../core/service.js';
import type { BreakerEvents, BreakerOptions } from './breaker.js';
import type { Clock } from './clock.js';
import { pickAndCall } from './cluster/pick.js';
import { attemptTimeout, timeout } from './deadline.js';
import { endpointBreaker } from './endpoint-breaker.js';
import { type HedgeEvent, type HedgeOptions, hedge } from './hedge.js';
import { type EjectEvent, type OutlierOptions, outlierDetection, type UnejectEvent } from './outlier.js';
import { type GiveUpEvent, type RetryEvent, type RetryOptions, retry } from './retry.js';

export interface ClientPolicyOptions {
  /** Whole-call budget across attempts (adds `timeout`); the caller's deadline still wins if earlier. */
  totalTimeoutMs?: number;
  /** Per-attempt timeout inside retry (adds `attemptTimeout`). */
  attemptTimeoutMs?: number;
  /** Default: 3 attempts, full-jitter backoff, 20 % + 10/s budget. `false` disables. */
  retry?: RetryOptions | false;
  /** Hedging for idempotent calls; off unless given. */
  hedge?: HedgeOptions | true;
  /** Per-endpoint breaker; on by default. */
  breaker?: BreakerOptions | false;
  /** Envoy-style outlier ejection; on by default. */
  outlier?: OutlierOptions | false;
  clock?: Clock;
}

export interface ClientPolicyEvents {
  onBreak?: BreakerEvents['onBreak'];
  onHalfOpen?: BreakerEvents['onHalfOpen'];
  onReset?: BreakerEvents['onReset'];
  onRetry?: Event<RetryEvent>;
  onGiveUp?: Event<GiveUpEvent>;
  onHedge?: Event<HedgeEvent>;
  onEject?: Event<EjectEvent>;
  onUneject?: Event<UnejectEvent>;
}

export interface ClientPolicies {
  /** `ClientOptions.filters`, outermost first: timeout → retry → hedge → attempt timeout. */
  readonly filters: Filter[];
  /** `ClientOptions.endpointFilters`, outermost first: breaker → outlier (put load tracking after them). */
  readonly endpointFilters: EndpointFilterFactory[];
  /** `ClientOptions.cluster`: one pick per attempt; retry above gives failover with backoff and budget. */
  readonly cluster: Cluster;
  /** Every policy's events, for metrics, logs and the dashboard. */
  readonly events: ClientPolicyEvents;
  /** Stops the outlier detector's and the endpoint breakers' timers and releases the ejections. */
  dispose(): void;
}

/**
 * The recommended client stack, built once per client. Per call it costs one retry frame
 * and, per attempt, two endpoint filters; timeouts and hedging, which allocate timers and
 * signals, are only added when asked for. Put metrics and fallback in front of `filters`
 * and bulkhead or rate limit after them.
 */
export function defaultClientPolicies(options: ClientPolicyOptions = {}): ClientPolicies {
  const { clock } = options;
  const filters: Filter[] = [];
  const endpointFilters: EndpointFilterFactory[] = [];
  const events: ClientPolicyEvents = {};
  if (options.totalTimeoutMs !== undefined) filters.push(timeout({ totalMs: options.totalTimeoutMs, clock }));
  if (options.retry !== false) {
    const r = retry({ clock, ...options.retry });
    filters.push(r);
    events.onRetry = r.onRetry;
    events.onGiveUp = r.onGiveUp;
  }
  if (options.hedge !== undefined) {
    const h = hedge({ clock, ...(options.hedge === true ? {} : options.hedge) });
    filters.push(h);
    events.onHedge = h.onHedge;
  }
  if (options.attemptTimeoutMs !== undefined)
    filters.push(attemptTimeout(options.attemptTimeoutMs, { clock }));
  const breaker = options.breaker === false ? undefined : endpointBreaker({ clock, ...options.breaker });
  if (breaker) {
    endpointFilters.push(breaker);
    events.onBreak = breaker.onBreak;
    events.onHalfOpen = breaker.onHalfOpen;
    events.onReset = breaker.onReset;
  }
  const detector = options.outlier === false ? undefined : outlierDetection({ clock, ...options.outlier });
  if (detector) {
    endpointFilters.push(detector.filter);
    events.onEject = detector.onEject;
    events.onUneject = detector.onUneject;
  }
  const dispose = () => {
    breaker?.dispose();
    detector?.dispose();
  };
  return { filters, endpointFilters, cluster: pickAndCall, events, dispose };
}
