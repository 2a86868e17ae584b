import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { disposable } from '../../core/events.js';
import type { TokenSource } from '../../security/credentials.js';
import { type ClientTlsOptions, clientTlsConnectOptions } from '../../security/tls-options.js';
import { type Instance, type InstanceInput, type InstanceStatus, normalizeInstance } from '../instance.js';
import type { Registration, Registry } from '../registry.js';
import { type SseEvent, sseParser } from './sse.js';

export interface RegistryClientLogger {
  warn(msg: string): void;
  info?(msg: string): void;
}

export interface EmbeddedRegistryOptions {
  /** Base URL of a registry started with `startRegistry()` or `tensile registry`. */
  url: string;
  /** Overrides the interval the registry advertises (default there: 3 s). */
  renewIntervalMs?: number;
  /** Per-request timeout; default 5 s. */
  requestTimeoutMs?: number;
  /** A watch stream silent this long is considered dead and reopened; default 45 s (3 server heartbeats). */
  idleTimeoutMs?: number;
  /** Reconnect backoff bounds (full jitter); default 100 ms … 5 s. */
  backoff?: { initialMs?: number; maxMs?: number };
  logger?: RegistryClientLogger;
  /** Bearer token sent with every request (a function for rotating tokens), for a registry with `auth`. */
  token?: TokenSource;
  /** For an https registry: the CA to trust, and a client certificate when the registry wants one. */
  tls?: ClientTlsOptions;
}

interface Reply {
  status: number;
  body: any;
}

/** A Registry client of the embedded registry: leases renewed over HTTP, watches pushed over SSE. */
export function embeddedRegistry(options: EmbeddedRegistryOptions): Registry {
  const base = new URL(options.url);
  const secure = base.protocol === 'https:';
  const request = secure ? httpsRequest : httpRequest;
  const tls = secure ? clientTlsConnectOptions(options.tls ?? {}, base.hostname) : {};
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, maxSockets: 16, ...tls })
    : new Agent({ keepAlive: true, maxSockets: 16 });
  // Watch streams hold their socket for good: their own agent keeps them off the request pool.
  const streamAgent = secure ? new HttpsAgent({ ...tls }) : new Agent();
  const authorization = async (): Promise<Record<string, string>> => {
    if (options.token === undefined) return {};
    const token = typeof options.token === 'string' ? options.token : await options.token();
    return { authorization: `Bearer ${token}` };
  };
  const timeoutMs = options.requestTimeoutMs ?? 5_000;
  const minBackoff = options.backoff?.initialMs ?? 100;
  const maxBackoff = options.backoff?.maxMs ?? 5_000;
  const log = options.logger;
  const cleanups = new Set<() => void>();
  let closed = false;

  const call = async (method: string, path: string, body?: unknown): Promise<Reply> => {
    const auth = await authorization();
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        new URL(path, base),
        {
          method,
          agent,
          timeout: timeoutMs,
          headers: {
            ...auth,
            accept: 'application/json',
            // An explicit length even when empty: a chunked PUT costs a second packet and a Nagle stall.
            'content-length': payload ? Buffer.byteLength(payload) : 0,
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = text;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`registry request timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  };
  const expect = async (method: string, path: string, ok: number[], body?: unknown) => {
    const reply = await call(method, path, body);
    if (!ok.includes(reply.status)) {
      const message = reply.body?.error?.message ?? JSON.stringify(reply.body);
      throw new Error(`registry ${method} ${path} → ${reply.status}: ${message}`);
    }
    return reply;
  };
  const enc = encodeURIComponent;
  const instancePath = (i: Instance) => `/v1/services/${enc(i.service)}/instances/${enc(i.id)}`;

  const register = async (input: InstanceInput): Promise<Registration> => {
    if (closed) throw new Error('registry client is closed');
    let instance = normalizeInstance(input);
    const post = async () => {
      const reply = await expect('POST', `/v1/services/${enc(instance.service)}/instances`, [201], instance);
      return reply.body as { instance: Instance; renewIntervalMs: number };
    };
    const first = await post();
    instance = { ...instance, registeredAt: first.instance.registeredAt };
    const intervalMs = options.renewIntervalMs ?? first.renewIntervalMs;
    let active = true;
    let failing = false;
    let timer: NodeJS.Timeout | undefined;

    const renew = async () => {
      try {
        const reply = await call('PUT', `${instancePath(instance)}/renew`);
        // 404: the registry lost the lease (restart, or eviction during a long pause).
        if (reply.status === 404 && active) await post();
        else if (reply.status !== 200) throw new Error(`renew → ${reply.status}`);
        if (failing) log?.info?.(`registry reachable again; lease of ${instance.id} renewed`);
        failing = false;
      } catch (err) {
        if (!failing) log?.warn(`cannot renew lease of ${instance.id}: ${(err as Error).message}; retrying`);
        failing = true;
      }
    };
    const loop = () => {
      timer = setTimeout(async () => {
        await renew();
        if (active && !closed) loop();
      }, intervalMs);
      timer.unref();
    };
    const stop = () => {
      active = false;
      clearTimeout(timer);
    };
    cleanups.add(stop);
    loop();

    return {
      get instance() {
        return instance;
      },
      async setStatus(status: InstanceStatus) {
        instance = { ...instance, status };
        const reply = await call('PUT', `${instancePath(instance)}/status`, { status });
        if (reply.status === 404 && active) await post();
        else if (reply.status !== 200) throw new Error(`registry refused status ${status}: ${reply.status}`);
      },
      async deregister() {
        if (!active) return;
        stop();
        cleanups.delete(stop);
        await expect('DELETE', instancePath(instance), [204, 404]);
      },
    };
  };

  /** One SSE stream per watched service, shared by all its watchers. */
  const streams = new Map<string, ReturnType<typeof openStream>>();
  const openStream = (service: string) => {
    const listeners = new Set<(set: readonly Instance[]) => void>();
    let current: readonly Instance[] | undefined;
    let currentKey = '';
    let lastEventId = '';
    let attempt = 0;
    let res: IncomingMessage | undefined;
    let retry: NodeJS.Timeout | undefined;
    let idle: NodeJS.Timeout | undefined;
    let stopped = false;
    const idleMs = options.idleTimeoutMs ?? 45_000;

    const onEvent = (ev: SseEvent) => {
      if (ev.id !== undefined) lastEventId = ev.id;
      if (ev.event !== 'snapshot') return;
      attempt = 0;
      const { instances } = JSON.parse(ev.data) as { instances: Instance[] };
      const key = JSON.stringify(instances);
      if (key === currentKey) return;
      currentKey = key;
      current = Object.freeze(instances);
      for (const l of listeners) l(current);
    };
    const reconnect = (why: string) => {
      res?.destroy();
      res = undefined;
      clearTimeout(idle);
      if (stopped || closed) return;
      if (attempt === 0)
        log?.warn(`watch of ${service} lost (${why}); keeping the last known set, reconnecting`);
      const delay = Math.random() * Math.min(maxBackoff, minBackoff * 2 ** attempt++);
      retry = setTimeout(() => void connect(), delay);
    };
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => reconnect(`silent for ${idleMs} ms`), idleMs);
    };
    const connect = async () => {
      let auth: Record<string, string>;
      try {
        auth = await authorization();
      } catch (err) {
        return reconnect(`token: ${(err as Error).message}`);
      }
      if (stopped || closed) return;
      const req = request(new URL(`/v1/watch?service=${enc(service)}`, base), {
        agent: streamAgent,
        headers: {
          ...auth,
          accept: 'text/event-stream',
          ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
        },
      });
      req.on('response', (r) => {
        if (r.statusCode !== 200) {
          r.resume();
          return reconnect(`HTTP ${r.statusCode}`);
        }
        res = r;
        armIdle();
        const parse = sseParser(onEvent);
        r.setEncoding('utf8');
        r.on('data', (chunk: string) => {
          armIdle();
          try {
            parse(chunk);
          } catch (err) {
            reconnect(`bad event: ${(err as Error).message}`);
          }
        });
        r.on('end', () => reconnect('stream ended'));
        r.on('error', (err) => reconnect(err.message));
      });
      req.on('error', (err) => reconnect(err.message));
      req.end();
    };
    void connect();
    return {
      listeners,
      current: () => current,
      stop() {
        stopped = true;
        clearTimeout(retry);
        clearTimeout(idle);
        res?.destroy();
      },
    };
  };

  return {
    register,
    watch(service, onChange) {
      if (closed) throw new Error('registry client is closed');
      let stream = streams.get(service);
      if (!stream) streams.set(service, (stream = openStream(service)));
      const s = stream;
      s.listeners.add(onChange);
      const known = s.current();
      if (known) queueMicrotask(() => s.listeners.has(onChange) && onChange(known));
      const cleanup = () => {
        s.listeners.delete(onChange);
        if (s.listeners.size === 0 && streams.get(service) === s) {
          s.stop();
          streams.delete(service);
        }
      };
      cleanups.add(cleanup);
      return disposable(() => {
        cleanups.delete(cleanup);
        cleanup();
      });
    },
    async services() {
      return (await expect('GET', '/v1/services', [200])).body.services;
    },
    async instances(service) {
      return (await expect('GET', `/v1/services/${enc(service)}`, [200])).body.instances;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const c of cleanups) c();
      cleanups.clear();
      for (const s of streams.values()) s.stop();
      streams.clear();
      agent.destroy();
      streamAgent.destroy();
    },
  };
}
