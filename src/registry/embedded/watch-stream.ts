import type { Agent, ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { Instance } from '../instance.js';
import type { RegistryClientLogger } from './client.js';
import { type SseEvent, sseParser } from './sse.js';

export interface WatchStreamOptions {
  /** The registry's `/v1/watch?service=…` URL. */
  url: URL;
  service: string;
  request: (url: URL, options: RequestOptions) => ClientRequest;
  agent: Agent;
  authorization: () => Promise<Record<string, string>>;
  /** A stream silent this long is considered dead and reopened. */
  idleMs: number;
  minBackoff: number;
  maxBackoff: number;
  /** The owning client was closed: stop reconnecting. */
  isClosed: () => boolean;
  log?: RegistryClientLogger;
}

export interface WatchStream {
  readonly listeners: Set<(set: readonly Instance[]) => void>;
  current(): readonly Instance[] | undefined;
  stop(): void;
}

/**
 * One SSE stream of a service's instance sets. It resumes with Last-Event-ID after a break
 * (full-jitter backoff), keeps the last known set meanwhile, and tells listeners only when
 * the set really changed.
 */
export function openWatchStream(o: WatchStreamOptions): WatchStream {
  const listeners = new Set<(set: readonly Instance[]) => void>();
  let current: readonly Instance[] | undefined;
  let currentKey = '';
  let lastEventId = '';
  let attempt = 0;
  let res: IncomingMessage | undefined;
  let retry: NodeJS.Timeout | undefined;
  let idle: NodeJS.Timeout | undefined;
  let stopped = false;

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
    if (stopped || o.isClosed()) return;
    if (attempt === 0)
      o.log?.warn(`watch of ${o.service} lost (${why}); keeping the last known set, reconnecting`);
    const delay = Math.random() * Math.min(o.maxBackoff, o.minBackoff * 2 ** attempt++);
    retry = setTimeout(() => void connect(), delay);
  };
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => reconnect(`silent for ${o.idleMs} ms`), o.idleMs);
  };
  const connect = async () => {
    let auth: Record<string, string>;
    try {
      auth = await o.authorization();
    } catch (err) {
      return reconnect(`token: ${(err as Error).message}`);
    }
    if (stopped || o.isClosed()) return;
    const req = o.request(o.url, {
      agent: o.agent,
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
}
