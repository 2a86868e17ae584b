import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Disposable } from '../../core/events.js';
import { HttpError, type Route, sendJson } from '../../registry/embedded/http-util.js';
import type { RegistryStore } from '../../registry/embedded/store.js';
import { DASHBOARD_CSS } from './assets/css.js';
import { DASHBOARD_HTML } from './assets/html.js';
import { DASHBOARD_JS } from './assets/js.js';
import { statsPoller } from './poller.js';
import { type AttachSources, Sources } from './sources.js';
import { DashboardState, type DashboardStateOptions } from './state.js';
import type { DashboardDelta, DashboardSnapshot, StatsSample } from './types.js';

export interface DashboardOptions extends Omit<DashboardStateOptions, 'now'> {
  /** How often UP instances' stats are read while someone watches; default 1 s. */
  pollIntervalMs?: number;
  /** Deadline of one stats read; default 500 ms. */
  statsTimeoutMs?: number;
  /** Stats reads in flight at once; default 16. */
  concurrency?: number;
  /** Addresses polled per interval (the first in service, id order); default 200. */
  maxPolledInstances?: number;
  /** Keep polling this long after the last snapshot request when no live stream is open; default 60 s. */
  idlePollMs?: number;
  /** Concurrent live streams; default 100. */
  maxViewers?: number;
  /** A live stream whose unsent output exceeds this is dropped (the page reconnects); default 1 MiB. */
  maxBufferedBytes?: number;
  /** Comment sent on idle streams; default 15 s. */
  heartbeatMs?: number;
}

/** The dashboard of a running embedded registry. */
export interface Dashboard {
  /** Path under the registry URL: `${registry.url}/dashboard/`. */
  readonly path: '/dashboard/';
  /** Feeds an in-process autoscaler's decisions and a client's policy events to the page. */
  attach(sources: AttachSources): Disposable;
  /** What the page's first paint shows. */
  snapshot(): DashboardSnapshot;
  readonly state: DashboardState;
  /** Open live streams. */
  readonly viewers: number;
}

export interface MountedDashboard extends Dashboard {
  readonly routes: Route[];
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  // Everything is self-served; registrants' strings are only ever inserted as text.
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/**
 * The dashboard's state, its feeds (registry changes, stats polling, attached sources)
 * and its HTTP routes, for the embedded registry to mount. Stats are only polled while
 * a live stream is open or a snapshot was read within `idlePollMs`: an unwatched
 * dashboard sends nothing to the instances.
 */
export function createDashboard(store: RegistryStore, options: DashboardOptions = {}): MountedDashboard {
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const state = new DashboardState({ ...options, pollIntervalMs });
  const sources = new Sources(state);
  const poller = statsPoller({
    concurrency: options.concurrency ?? 16,
    timeoutMs: options.statsTimeoutMs ?? 500,
    maxInstances: options.maxPolledInstances ?? 200,
  });
  const maxViewers = options.maxViewers ?? 100;
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  const idlePollMs = options.idlePollMs ?? 60_000;
  const viewers = new Set<ServerResponse>();
  let lastSnapshotAt = Number.NEGATIVE_INFINITY;
  let closed = false;

  for (const lease of store.all()) state.upsert(lease.instance);
  const changes = store.changes((change) => {
    const { instance } = change.lease;
    const { service, id } = instance;
    if (change.type === 'deleted') {
      state.remove(service, id);
      // Eviction only removes lapsed leases; a lease removed before its expiry was deregistered.
      const expired = change.lease.expiresAt <= change.at;
      state.recordEvent(
        expired ? 'expire' : 'deregister',
        expired ? 'lease expired' : 'deregistered',
        service,
        id,
      );
      return;
    }
    const prior = state.upsert(instance);
    if (prior === undefined)
      state.recordEvent('register', `registered at ${instance.address} (${instance.status})`, service, id);
    else if (prior !== instance.status)
      state.recordEvent('status', `${prior} → ${instance.status}`, service, id);
  });

  const broadcast = (delta: DashboardDelta) => {
    if (viewers.size === 0) return;
    const frame = `event: ${delta.type}\ndata: ${JSON.stringify(delta.data)}\n\n`;
    for (const res of viewers) {
      // A viewer that cannot keep up is dropped rather than buffered without bound.
      if (res.writableLength > maxBuffered) res.destroy();
      else res.write(frame);
    }
  };
  const deltas = state.deltas(broadcast);
  const heartbeat = setInterval(() => {
    for (const res of viewers) res.write(': ping\n\n');
  }, options.heartbeatMs ?? 15_000);
  heartbeat.unref();

  // Polls never overlap: the next one is scheduled when the previous one ends.
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let pollerOpen = false;
  const watched = () => viewers.size > 0 || state.now() - lastSnapshotAt < idlePollMs;
  const pollOnce = async () => {
    if (!watched()) {
      if (pollerOpen) await poller.close();
      pollerOpen = false;
      return;
    }
    pollerOpen = true;
    const polled = await poller.poll(state.instanceList());
    if (closed) return;
    const samples: StatsSample[] = polled.map(({ instance, snapshot: s }) => ({
      service: instance.service,
      id: instance.id,
      at: s.at,
      rate: round(s.rate),
      p99Ms: round(s.p99Ms),
      inflight: s.concurrency,
      uptimeMs: s.uptimeMs,
      utilization: s.utilization,
      errors: s.errors,
      shed: s.shed,
      ...(s.capacity === undefined ? {} : { capacity: s.capacity }),
    }));
    state.recordStats(state.now(), samples, sources.endpointViews());
  };
  const loop = () => {
    timer = setTimeout(() => {
      polling = pollOnce()
        .catch(() => {})
        .finally(() => {
          polling = undefined;
          if (!closed) loop();
        });
    }, pollIntervalMs);
    timer.unref();
  };
  loop();

  const live = (req: IncomingMessage, res: ServerResponse) => {
    if (viewers.size >= maxViewers)
      throw new HttpError(503, `too many dashboard streams (${maxViewers})`, { 'retry-after': '5' });
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // A HEAD probe gets the headers, not a stream that never ends.
    if (req.method === 'HEAD') return void res.end();
    // Snapshot first, then every delta: written in the same turn, so none falls between.
    res.write(`retry: 2000\n\nevent: snapshot\ndata: ${JSON.stringify(state.snapshot())}\n\n`);
    viewers.add(res);
    req.socket.setNoDelay(true);
    res.on('close', () => viewers.delete(res));
  };

  const asset = (type: string, body: string) => (_q: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': type,
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  const routes: Route[] = [
    {
      pattern: /^\/dashboard$/,
      methods: {
        GET: (_q, res) => {
          res.writeHead(308, { location: '/dashboard/', 'content-length': 0 });
          res.end();
        },
      },
    },
    {
      pattern: /^\/dashboard\/(?:index\.html)?$/,
      methods: { GET: asset('text/html; charset=utf-8', DASHBOARD_HTML) },
    },
    {
      pattern: /^\/dashboard\/app\.js$/,
      methods: { GET: asset('text/javascript; charset=utf-8', DASHBOARD_JS) },
    },
    { pattern: /^\/dashboard\/app\.css$/, methods: { GET: asset('text/css; charset=utf-8', DASHBOARD_CSS) } },
    {
      pattern: /^\/dashboard\/api\/snapshot$/,
      methods: {
        GET: (_q, res) => {
          lastSnapshotAt = state.now();
          sendJson(res, 200, state.snapshot(), SECURITY_HEADERS);
        },
      },
    },
    { pattern: /^\/dashboard\/events$/, methods: { GET: live } },
  ];

  return {
    path: '/dashboard/',
    routes,
    state,
    attach: (s) => sources.attach(s),
    snapshot: () => state.snapshot(),
    get viewers() {
      return viewers.size;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      clearInterval(heartbeat);
      changes.dispose();
      deltas.dispose();
      sources.close();
      for (const res of viewers) res.end();
      viewers.clear();
      await polling;
      await poller.close();
    },
  };
}

const round = (x: number) => Math.round(x * 100) / 100;
