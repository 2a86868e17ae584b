import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Instance, type InstanceStatus, normalizeInstance } from '../instance.js';
import type { AccessTarget } from './access.js';
import { HttpError, isObject, type Route, readJson, sendJson, str } from './http-util.js';
import { CapacityError, type RegistryStore } from './store.js';

const HEALTH: readonly AccessTarget[] = [{ operation: 'health' }];

export const STATUSES: readonly InstanceStatus[] = ['UP', 'DOWN', 'STARTING', 'OUT_OF_SERVICE'];

export interface TensileApiOptions {
  store: RegistryStore;
  leaseTtlMs: number;
  renewIntervalMs: number;
  maxBodyBytes: number;
  maxSubscribers: number;
  /** SSE comment sent on idle streams so clients and proxies notice dead connections. */
  heartbeatMs: number;
  /** After a start, clients resuming from another epoch wait this long before their first set. */
  warmupMs: number;
  now: () => number;
}

export interface TensileApi {
  routes: Route[];
  /** Open SSE streams. */
  readonly subscribers: number;
  close(): void;
}

/** Tensile's JSON routes under /v1 and the server-sent-event watch. */
export function tensileApi(o: TensileApiOptions): TensileApi {
  const { store } = o;
  const streams = new Map<string, Set<ServerResponse>>();
  let subscriberCount = 0;
  const dirty = new Set<string>();
  let flushScheduled = false;

  const snapshotEvent = (service: string) => {
    const data = JSON.stringify({ service, version: store.version, instances: store.list(service) });
    return `id: ${store.epoch}:${store.version}\nevent: snapshot\ndata: ${data}\n\n`;
  };
  // A client that does not read fills its socket; Node would then buffer every further write
  // in memory. Snapshots replace each other, so a stream that needs draining skips them and
  // gets only the then-current one on 'drain': per stream the registry holds at most one
  // snapshot beyond the socket's high-water mark, and a slow reader still ends on the truth.
  const behind = new WeakSet<ServerResponse>();
  const send = (res: ServerResponse, service: string, event: string) => {
    if (!res.writableNeedDrain) return void res.write(event);
    if (behind.has(res)) return;
    behind.add(res);
    res.once('drain', () => {
      behind.delete(res);
      if (!res.destroyed) send(res, service, snapshotEvent(service));
    });
  };
  // Changes are coalesced per service and flushed once per event-loop turn, so a burst
  // of registrations costs one serialization per watched service, not one per change.
  const flush = () => {
    flushScheduled = false;
    for (const service of dirty) {
      const subs = streams.get(service);
      if (!subs) continue;
      const event = snapshotEvent(service);
      for (const res of subs) send(res, service, event);
    }
    dirty.clear();
  };
  const unsubscribe = store.changes((change) => {
    if (!streams.has(change.service)) return;
    dirty.add(change.service);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  });
  const heartbeat = setInterval(() => {
    // A stream with bytes still queued is not idle and needs no ping.
    for (const subs of streams.values())
      for (const res of subs) if (!res.writableNeedDrain) res.write(': ping\n\n');
  }, o.heartbeatMs);
  heartbeat.unref();

  const watch = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const service = url.searchParams.get('service');
    if (!service) throw new HttpError(400, 'query parameter "service" is required');
    if (subscriberCount >= o.maxSubscribers) {
      throw new HttpError(503, `too many watch streams (${o.maxSubscribers})`, { 'retry-after': '1' });
    }
    const headers = {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    };
    // HEAD gets the headers only: a stream nobody can read must not hold a subscriber slot.
    if (req.method === 'HEAD') return void res.writeHead(200, headers).end();
    subscriberCount++;
    res.writeHead(200, headers);
    res.write(`retry: 1000\n\n`);
    // A client that last saw another epoch was connected to a registry that has since
    // restarted empty; its peers are re-registering right now. Until they have had a
    // renew interval to do so, it keeps its last set rather than seeing a partial one.
    const lastId = String(req.headers['last-event-id'] ?? '');
    const resuming = lastId !== '' && !lastId.startsWith(`${store.epoch}:`);
    const wait = resuming ? store.startedAt + o.warmupMs - o.now() : 0;
    const attach = () => {
      if (res.destroyed) return;
      // Looked up now, not at request time: other streams of the service may have come or
      // gone during the warm-up wait, and each must join the one live set.
      let subs = streams.get(service);
      if (!subs) streams.set(service, (subs = new Set()));
      subs.add(res);
      send(res, service, snapshotEvent(service));
    };
    const timer = wait > 0 ? setTimeout(attach, wait) : undefined;
    if (!timer) attach();
    res.on('close', () => {
      clearTimeout(timer);
      subscriberCount--;
      const current = streams.get(service);
      current?.delete(res);
      if (current?.size === 0) streams.delete(service);
    });
  };

  const register = async (req: IncomingMessage, res: ServerResponse, [service]: string[]) => {
    const body = await readJson(req, o.maxBodyBytes);
    const instance = parseInstance(service!, body, o.now());
    try {
      const lease = store.register(instance);
      sendJson(res, 201, {
        instance: lease.instance,
        leaseTtlMs: o.leaseTtlMs,
        renewIntervalMs: o.renewIntervalMs,
        epoch: store.epoch,
      });
    } catch (err) {
      if (err instanceof CapacityError) throw new HttpError(507, err.message);
      throw err;
    }
  };
  const notFound = (service: string, id: string) =>
    new HttpError(404, `no lease for instance ${JSON.stringify(id)} of service ${JSON.stringify(service)}`);

  const routes: Route[] = [
    { pattern: /^\/v1\/services\/?$/, methods: { GET: (_q, res) => sendJson(res, 200, servicesBody()) } },
    {
      pattern: /^\/v1\/services\/([^/]+)\/?$/,
      access: (_m, [service]) => [{ operation: 'read', service: service! }],
      methods: {
        GET: (_q, res, [s]) =>
          sendJson(res, 200, { service: s, version: store.version, instances: store.list(s!) }),
      },
    },
    {
      pattern: /^\/v1\/services\/([^/]+)\/instances\/?$/,
      access: (_m, [service]) => [{ operation: 'register', service: service! }],
      methods: { POST: register },
    },
    {
      pattern: /^\/v1\/services\/([^/]+)\/instances\/([^/]+)\/?$/,
      access: (m, [service, instanceId]) => [
        { operation: m === 'DELETE' ? 'deregister' : 'read', service: service!, instanceId: instanceId! },
      ],
      methods: {
        GET: (_q, res, [s, id]) => {
          const lease = store.get(s!, id!);
          if (!lease) throw notFound(s!, id!);
          sendJson(res, 200, { instance: lease.instance });
        },
        DELETE: (_q, res, [s, id]) => {
          if (!store.remove(s!, id!)) throw notFound(s!, id!);
          sendJson(res, 204, undefined);
        },
      },
    },
    {
      pattern: /^\/v1\/services\/([^/]+)\/instances\/([^/]+)\/renew\/?$/,
      access: (_m, [service, instanceId]) => [
        { operation: 'renew', service: service!, instanceId: instanceId! },
      ],
      methods: {
        PUT: (_q, res, [s, id]) => {
          if (!store.renew(s!, id!)) throw notFound(s!, id!);
          sendJson(res, 200, { renewed: true, leaseTtlMs: o.leaseTtlMs });
        },
      },
    },
    {
      pattern: /^\/v1\/services\/([^/]+)\/instances\/([^/]+)\/status\/?$/,
      access: (_m, [service, instanceId]) => [
        { operation: 'status', service: service!, instanceId: instanceId! },
      ],
      methods: {
        PUT: async (req, res, [s, id]) => {
          const status = parseStatus(await readJson(req, o.maxBodyBytes));
          const lease = store.setStatus(s!, id!, status);
          if (!lease) throw notFound(s!, id!);
          sendJson(res, 200, { instance: lease.instance });
        },
      },
    },
    {
      pattern: /^\/v1\/watch\/?$/,
      access: (_m, _p, url) => {
        const service = url.searchParams.get('service');
        return [{ operation: 'watch', ...(service ? { service } : {}) }];
      },
      methods: { GET: (req, res, _p, url) => watch(req, res, url) },
    },
    {
      pattern: /^\/v1\/health\/?$/,
      access: () => HEALTH,
      methods: {
        // With protectReads, anonymous probes learn "up" and nothing about the fleet or process.
        GET: (_q, res, _p, _u, caller) => sendJson(res, 200, caller.mayRead ? health() : { status: 'UP' }),
      },
    },
  ];
  const health = () => ({
    status: 'UP',
    epoch: store.epoch,
    version: store.version,
    instances: store.size,
    selfPreservation: store.selfPreserving,
    renewalRatio: store.renewalRatio(),
    subscribers: subscriberCount,
    watchBufferedBytes: bufferedBytes(),
    renewals: store.renewals,
    memory: { rssBytes: process.memoryUsage.rss(), heapUsedBytes: process.memoryUsage().heapUsed },
  });
  const servicesBody = () => ({ version: store.version, services: store.services() });
  /** Bytes written to watch streams and not yet taken by the kernel. */
  const bufferedBytes = () => {
    let sum = 0;
    for (const subs of streams.values()) for (const res of subs) sum += res.writableLength;
    return sum;
  };

  return {
    routes,
    get subscribers() {
      return subscriberCount;
    },
    close() {
      unsubscribe.dispose();
      clearInterval(heartbeat);
      for (const subs of streams.values()) for (const res of subs) res.end();
      streams.clear();
    },
  };
}

function parseStatus(body: Record<string, unknown>): InstanceStatus {
  const status = str(body, 'status', true) as InstanceStatus;
  if (!STATUSES.includes(status)) {
    throw new HttpError(
      400,
      `field "status" must be one of ${STATUSES.join(', ')}, got ${JSON.stringify(status)}`,
    );
  }
  return status;
}

/** Validates a Tensile instance body; the path names the service. */
export function parseInstance(service: string, body: Record<string, unknown>, now: number): Instance {
  const address = str(body, 'address', true)!;
  const weight = body.weight;
  if (weight !== undefined && typeof weight !== 'number')
    throw new HttpError(400, 'field "weight" must be a number');
  const metadata = body.metadata ?? {};
  if (!isObject(metadata) || Object.values(metadata).some((v) => typeof v !== 'string')) {
    throw new HttpError(400, 'field "metadata" must be an object of strings');
  }
  const status = body.status === undefined ? 'UP' : parseStatus(body);
  try {
    return normalizeInstance(
      {
        service,
        address,
        ...(str(body, 'id') ? { id: str(body, 'id')! } : {}),
        ...(weight === undefined ? {} : { weight }),
        ...(str(body, 'zone') ? { zone: str(body, 'zone')! } : {}),
        metadata: metadata as Record<string, string>,
        status,
        // A client re-registering after a registry restart keeps its original time.
        ...(typeof body.registeredAt === 'number' && body.registeredAt <= now
          ? { registeredAt: body.registeredAt }
          : {}),
      },
      now,
    );
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
}
