import type { IncomingMessage, ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import type { Disposable } from '../../core/events.js';
import type { Route } from '../../registry/embedded/http-util.js';
import type { RegistryStore } from '../../registry/embedded/store.js';
import { bindRegistryMetrics, type RegistryEvent } from '../event-metrics.js';
import { metricsHandler } from '../metrics-http.js';

export interface RegistryMetricsRouteOptions {
  /**
   * Where the registry's own metrics go and what `/metrics` serves: pass your app's
   * prom-client Registry to expose its metrics (autoscaler, clients) on the same endpoint.
   * Default: a fresh Registry.
   */
  registry?: Registry;
  /** Default `/metrics`. */
  path?: string;
}

export interface MountedMetrics {
  readonly registry: Registry;
  readonly routes: Route[];
  close(): void;
}

/**
 * The embedded registry's opt-in `/metrics`: `tensile_registry_instances{service,status}`,
 * `tensile_registry_lease_renewals_total` and `tensile_registry_changes_total{service,type}`,
 * plus whatever else lives in the given prom-client Registry.
 */
export function registryMetricsRoute(
  store: RegistryStore,
  options: RegistryMetricsRouteOptions = {},
): MountedMetrics {
  const registry = options.registry ?? new Registry();
  const path = options.path ?? '/metrics';
  if (!path.startsWith('/'))
    throw new TypeError(`metrics path must start with "/", got ${JSON.stringify(path)}`);
  const events = (listener: (e: RegistryEvent) => void): Disposable =>
    store.changes((c) => {
      const service = c.service;
      if (c.type === 'added') listener({ type: 'register', service });
      // Eviction only removes lapsed leases; a lease removed before its expiry was deregistered.
      else if (c.type === 'deleted')
        listener({ type: c.lease.expiresAt <= c.at ? 'expire' : 'deregister', service });
    });
  const binding = bindRegistryMetrics({
    registry,
    instances: () => [...store.all()].map((l) => l.instance),
    renewals: () => store.renewals,
    events,
  });
  const handler = metricsHandler(registry, { path });
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const serve = (req: IncomingMessage, res: ServerResponse) => handler(req, res);
  return {
    registry,
    routes: [{ pattern: new RegExp(`^${escaped}$`), methods: { GET: serve } }],
    close: () => binding.dispose(),
  };
}
