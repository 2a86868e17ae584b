import { Agent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { disposable } from '../../core/events.js';
import { exponentialBackoff } from '../../policy/backoff.js';
import type { TokenSource } from '../../security/credentials.js';
import { type ClientTlsOptions, clientTlsConnectOptions } from '../../security/tls-options.js';
import { type Instance, type InstanceInput, type InstanceStatus, normalizeInstance } from '../instance.js';
import type { Registration, Registry } from '../registry.js';
import { SerialQueue, untilDone } from '../serial.js';
import { openWatchStream, type WatchStream } from './watch-stream.js';

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

  const call = async (method: string, path: string, body?: unknown, limitMs = timeoutMs): Promise<Reply> => {
    const auth = await authorization();
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        new URL(path, base),
        {
          method,
          agent,
          timeout: limitMs,
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
      req.on('timeout', () => req.destroy(new Error(`registry request timed out after ${limitMs} ms`)));
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
    // A renewal slower than the interval is useless (the next one is due), and a hung one
    // would delay re-registration after a registry restart past the registry's warm-up.
    const renewTimeoutMs = Math.min(timeoutMs, intervalMs);
    let active = true;
    let failing = false;
    let attempt = 0;
    /** A status the registry has not confirmed yet; re-sent after the next good renewal. */
    let statusPending = false;
    let timer: NodeJS.Timeout | undefined;
    const writes = new SerialQueue();
    const retryDelay = exponentialBackoff({
      baseMs: Math.max(1, Math.min(minBackoff, intervalMs)),
      maxMs: intervalMs,
      jitter: 'equal',
    });
    const putStatus = async () => {
      const reply = await call('PUT', `${instancePath(instance)}/status`, { status: instance.status });
      // 404: the lease is gone; registering again carries the status.
      if (reply.status === 404 && active) await post();
      else if (reply.status !== 200)
        throw new Error(`registry refused status ${instance.status}: ${reply.status}`);
      statusPending = false;
    };

    const renew = async () => {
      try {
        const reply = await call('PUT', `${instancePath(instance)}/renew`, undefined, renewTimeoutMs);
        // 404: the registry lost the lease (restart, or eviction during a long pause).
        if (reply.status === 404 && active) {
          await post();
          statusPending = false;
        } else if (reply.status !== 200) throw new Error(`renew → ${reply.status}`);
        else if (statusPending && active) await putStatus();
        if (failing) log?.info?.(`registry reachable again; lease of ${instance.id} renewed`);
        failing = false;
        attempt = 0;
      } catch (err) {
        if (!failing) log?.warn(`cannot renew lease of ${instance.id}: ${(err as Error).message}; retrying`);
        failing = true;
      }
    };
    const loop = () => {
      // After a failure retry sooner (jittered, growing up to the interval): the registry may
      // have just restarted, and its warm-up waits for exactly these re-registrations.
      const delay = failing ? retryDelay(++attempt, 0) : intervalMs;
      timer = setTimeout(async () => {
        await writes.run(renew);
        if (active && !closed) loop();
      }, delay);
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
      setStatus(status: InstanceStatus) {
        instance = { ...instance, status };
        statusPending = true;
        return writes.run(putStatus);
      },
      deregister: untilDone(async () => {
        stop();
        cleanups.delete(stop);
        await writes.run(() => expect('DELETE', instancePath(instance), [204, 404]));
      }),
    };
  };

  /** One SSE stream per watched service, shared by all its watchers. */
  const streams = new Map<string, WatchStream>();
  const openStream = (service: string) =>
    openWatchStream({
      url: new URL(`/v1/watch?service=${enc(service)}`, base),
      service,
      request,
      agent: streamAgent,
      authorization,
      idleMs: options.idleTimeoutMs ?? 45_000,
      minBackoff,
      maxBackoff,
      isClosed: () => closed,
      ...(log ? { log } : {}),
    });

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
