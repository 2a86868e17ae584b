import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Event } from '../../core/events.js';
import { createDashboard, type Dashboard, type DashboardOptions } from '../../observe/dashboard/dashboard.js';
import type { RegistryMetricsRouteOptions } from '../../observe/dashboard/metrics-route.js';
import { reloadServerTls, type ServerTlsOptions, serverTlsContext } from '../../security/tls-options.js';
import {
  type AccessTarget,
  checkCertificateAuth,
  type RegistryAuthOptions,
  registryAccess,
} from './access.js';
import { eurekaRoutes } from './eureka-api.js';
import { tensileApi } from './http-api.js';
import {
  ANONYMOUS,
  HttpError,
  match,
  type Route,
  rejectMalformed,
  requestUrl,
  sendError,
} from './http-util.js';
import { type Change, RegistryStore, type SelfPreservationOptions } from './store.js';

const DASHBOARD: readonly AccessTarget[] = [{ operation: 'dashboard' }];
const METRICS: readonly AccessTarget[] = [{ operation: 'metrics' }];

export interface RegistryLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface StartRegistryOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port); Eureka's conventional port is 8761. */
  port?: number;
  /** A lease lapses this long after its last renewal; default 10 s. */
  leaseTtlMs?: number;
  /** The renew interval clients are told to use; default 3 s. */
  renewIntervalMs?: number;
  /** How often expired leases are evicted; default 1 s. */
  evictionIntervalMs?: number;
  /** Eureka-style self-preservation; `false` disables it. Default threshold 0.85. */
  selfPreservation?: SelfPreservationOptions | false;
  /** After a start, Eureka reads answer 403 and resuming watchers wait; default 2 × renew interval. */
  warmupMs?: number;
  /** Largest request body; default 64 KiB. */
  maxBodyBytes?: number;
  /** Default 100,000. */
  maxInstances?: number;
  /** Concurrent SSE watch streams; default 10,000. */
  maxSubscribers?: number;
  /**
   * Open connections (TCP or TLS, including keep-alive and watch streams); beyond it new ones are
   * closed at once. Default maxSubscribers + 2,000, so watchers alone cannot lock writers out.
   */
  maxConnections?: number;
  /** Idle SSE streams get a comment this often; default 15 s. */
  heartbeatMs?: number;
  logger?: RegistryLogger;
  now?: () => number;
  /** Serve https; with `ca`, client certificates are verified (and accepted as credentials). */
  tls?: ServerTlsOptions;
  /** Access control: writes need a bearer token or client certificate; reads optionally too. */
  auth?: RegistryAuthOptions;
  /** The read-only live dashboard at /dashboard/ (docs/dashboard.md); default on. */
  dashboard?: boolean | DashboardOptions;
  /** Prometheus text at /metrics: registry size, lease renewals, and any Registry you pass; default off. */
  metrics?: boolean | RegistryMetricsRouteOptions;
}

export interface RunningRegistry {
  /** e.g. http://127.0.0.1:8761 */
  readonly url: string;
  readonly port: number;
  readonly store: RegistryStore;
  readonly changes: Event<Change>;
  readonly onSelfPreservation: Event<{ active: boolean; ratio: number }>;
  /** The dashboard, unless disabled: `attach({ autoscaler, client })` feeds it in-process sources. */
  readonly dashboard?: Dashboard;
  /** The prom-client Registry served at /metrics, when enabled. */
  readonly metrics?: MetricsRegistry;
  /** Replaces the https certificate (and CA…) without a restart; new connections get it. */
  reloadTls(tls: Partial<ServerTlsOptions>): void;
  close(): Promise<void>;
}

/** Starts the embedded registry: Tensile JSON + SSE API under /v1, Eureka REST API under /eureka. */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  checkCertificateAuth(options.auth, options.tls);
  const now = options.now ?? Date.now;
  const leaseTtlMs = options.leaseTtlMs ?? 10_000;
  const renewIntervalMs = options.renewIntervalMs ?? 3_000;
  if (renewIntervalMs >= leaseTtlMs) throw new RangeError('renewIntervalMs must be shorter than leaseTtlMs');
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const warmupMs = options.warmupMs ?? 2 * renewIntervalMs;
  const maxSubscribers = options.maxSubscribers ?? 10_000;
  const maxConnections = options.maxConnections ?? maxSubscribers + 2_000;
  if (!Number.isSafeInteger(maxConnections) || maxConnections < 1)
    throw new RangeError(`maxConnections must be a positive integer, got ${maxConnections}`);
  const store = new RegistryStore({
    leaseTtlMs,
    renewIntervalMs,
    maxInstances: options.maxInstances ?? 100_000,
    now,
    ...(options.selfPreservation === undefined ? {} : { selfPreservation: options.selfPreservation }),
  });
  const log = options.logger;
  store.onSelfPreservation(({ active, ratio }) => {
    const pct = (ratio * 100).toFixed(0);
    if (active) log?.warn(`self-preservation ON: renewals at ${pct}% of expected; eviction suspended`);
    else log?.info(`self-preservation OFF: renewals at ${pct}% of expected; eviction resumed`);
  });

  const common = { store, leaseTtlMs, renewIntervalMs, maxBodyBytes, warmupMs, now };
  const tensile = tensileApi({
    ...common,
    maxSubscribers,
    heartbeatMs: options.heartbeatMs ?? 15_000,
  });
  const dashboard =
    options.dashboard === false
      ? undefined
      : createDashboard(store, options.dashboard === true ? {} : options.dashboard);
  // prom-client loads only when /metrics is asked for.
  const metrics = options.metrics
    ? (await import('../../observe/dashboard/metrics-route.js')).registryMetricsRoute(
        store,
        options.metrics === true ? {} : options.metrics,
      )
    : undefined;
  const routes: Route[] = [
    ...tensile.routes,
    ...eurekaRoutes(common),
    ...(dashboard?.routes ?? []).map((r) => ({ ...r, access: () => DASHBOARD })),
    ...(metrics?.routes ?? []).map((r) => ({ ...r, access: () => METRICS })),
  ];

  const access = options.auth && registryAccess(options.auth, options.tls?.ca !== undefined);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const url = requestUrl(req);
      const found = match(routes, req.method ?? 'GET', url);
      if (!found) throw new HttpError(404, `no route for ${req.method} ${url.pathname}`);
      // After routing: the hook sees the decoded service the handler will act on, not a path
      // that has many spellings.
      const caller = access ? await access(req, url.pathname, found.targets) : ANONYMOUS;
      await found.handler(req, res, found.params, url, caller);
    } catch (err) {
      const httpErr =
        err instanceof HttpError
          ? err
          : new HttpError(500, `internal error: ${(err as Error)?.message ?? err}`);
      if (httpErr.status === 500) log?.warn(httpErr.message);
      sendError(res, httpErr);
      // A rejected oversized body is not drained; drop the connection once the 413 is out.
      if (httpErr.status === 413) res.on('finish', () => req.socket.destroy());
    }
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => void handle(req, res);
  const server = options.tls
    ? createHttpsServer(
        // Certificates are optional by default: token holders and open reads connect without one.
        {
          ...serverTlsContext({ rejectUnauthorized: false, ...options.tls }),
          handshakeTimeout: 10_000,
          keepAliveTimeout: 65_000,
        },
        onRequest,
      )
    : createServer({ keepAliveTimeout: 65_000 }, onRequest);
  // Failed or timed-out TLS handshakes are dropped (an untrusted client cert is not one: it reaches `access`).
  if (options.tls) server.on('tlsClientError', (_err, socket) => socket.destroy());
  server.on('clientError', rejectMalformed);
  server.maxConnections = maxConnections;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  const eviction = setInterval(() => {
    const evicted = store.evict();
    if (evicted.length) log?.info(`evicted ${evicted.length} expired lease(s)`);
  }, options.evictionIntervalMs ?? 1_000);
  eviction.unref();

  const stopExtras = () => {
    metrics?.close();
    return dashboard?.close();
  };
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      clearInterval(eviction);
      tensile.close();
      void stopExtras();
      reject(err);
    };
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', fail);
      resolve();
    });
  });
  const { port, address, family } = server.address() as AddressInfo;
  const host = family === 'IPv6' ? `[${address}]` : address;

  let closing: Promise<void> | undefined;
  let tls = options.tls;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host}:${port}`,
    port,
    store,
    changes: store.changes,
    onSelfPreservation: store.onSelfPreservation,
    ...(dashboard ? { dashboard } : {}),
    ...(metrics ? { metrics: metrics.registry } : {}),
    reloadTls(next) {
      if (!tls || !('setSecureContext' in server))
        throw new Error('reloadTls needs a registry started with tls');
      const merged = { ...tls, ...next };
      // Certificates stay credentials: without a ca they would verify against public roots.
      if (options.auth) {
        checkCertificateAuth(
          { certificates: options.auth.certificates ?? options.tls?.ca !== undefined },
          merged,
        );
      }
      reloadServerTls(server, { rejectUnauthorized: false, ...merged });
      tls = merged;
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        clearInterval(eviction);
        tensile.close();
        const extras = stopExtras();
        server.close(() => void Promise.resolve(extras).then(() => resolve()));
        server.closeAllConnections();
      })),
  };
}
