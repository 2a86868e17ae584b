import type { Balancer } from '../balance/balancer.js';
import type { Filter, Service } from '../core/service.js';
import type { Instance } from '../registry/instance.js';

/**
 * open: routable. busy: calls in flight at the server's advertised per-connection limit (until
 * 1/8 of them finished). draining: the server sent GOAWAY.
 * ejected: removed by outlier detection or an open circuit. unavailable: no connection (in backoff).
 */
export type EndpointStatus = 'open' | 'busy' | 'draining' | 'ejected' | 'unavailable';

/** Load figures kept per endpoint by the load-tracking filter; balancers read them. */
export interface EndpointLoad {
  /** Calls in flight through this client. */
  inflight: number;
  /** Completed calls (success or failure). */
  completed: number;
  /** Peak-EWMA of latency in ms; 0 until the first measurement. */
  peakEwmaMs: number;
  /** When peakEwmaMs was last updated (performance.now() ms). */
  ewmaStampMs: number;
  /** EWMA of latency of recent successful calls in ms; 0 until measured. */
  avgLatencyMs: number;
}

export interface Endpoint {
  readonly instance: Instance;
  /** Health as seen by this client; set explicitly by endpoint filters and the connection. */
  status: EndpointStatus;
  readonly load: EndpointLoad;
  /** performance.now() when this client first saw the instance (for slow start). */
  readonly firstSeenMs: number;
  /** Sends one call to this instance through the endpoint-level filters. */
  readonly call: Service;
  /**
   * True once its directory has dropped it for good (the instance left, moved, or the client
   * closed): per-endpoint policies with fleet-wide state (the outlier detector's ejection cap)
   * forget it at once instead of counting it until their state wears off.
   */
  readonly retired?: boolean;
}

export function newLoad(): EndpointLoad {
  return { inflight: 0, completed: 0, peakEwmaMs: 0, ewmaStampMs: 0, avgLatencyMs: 0 };
}

/** Builds an endpoint-level filter for one endpoint (breaker, outlier detection, load tracking). */
export type EndpointFilterFactory = (endpoint: Endpoint) => Filter;

/** The client's live view of a service's endpoints, as the cluster stage sees it. */
export interface Directory {
  readonly service: string;
  /** Routable endpoints now; when none is healthy, all of them (panic mode). Never stale. */
  routable(): readonly Endpoint[];
  /** Every known endpoint, whatever its status. */
  all(): readonly Endpoint[];
  readonly balancer: Balancer;
}

/**
 * The last stage of the client's service-level chain: turns a directory into a Service
 * (pick one and call it, or fork, or broadcast). Default: pick one with the balancer.
 */
export type Cluster = (directory: Directory) => Service;
