// Test helpers for the dashboard: real Tensile instances with the stats method, and an SSE reader.
import { get, type IncomingMessage } from 'node:http';
import { defineService, type, unary } from '../../contract/define.js';
import { RpcError } from '../../core/errors.js';
import { embeddedRegistry } from '../../registry/embedded/client.js';
import { type SseEvent, sseParser } from '../../registry/embedded/sse.js';
import type { Registration, Registry } from '../../registry/registry.js';
import { createLoadTracker, StatsService, statsHandlers } from '../../scale/signals.js';
import { createServer } from '../../server/server.js';

export const WorkService = defineService('dash.work', {
  work: unary({ input: type<{ ms?: number; fail?: boolean }>(), output: type<{ ok: boolean }>() }),
});

export interface TestInstance {
  readonly id: string;
  readonly address: string;
  readonly registration: Registration;
  close(): Promise<void>;
}

/** A real instance of WorkService with load tracking and the stats method, registered at `registryUrl`. */
export async function startInstance(
  registryUrl: string,
  options: { zone?: string; weight?: number; id?: string } = {},
): Promise<TestInstance> {
  const tracker = createLoadTracker();
  const server = createServer({ filters: [tracker.filter] })
    .implement(WorkService, {
      work: async ({ ms, fail }) => {
        if (ms) await new Promise((r) => setTimeout(r, ms));
        if (fail) throw new RpcError('INTERNAL', 'asked to fail');
        return { ok: true };
      },
    })
    .implement(StatsService, statsHandlers(tracker));
  const registry: Registry = embeddedRegistry({ url: registryUrl });
  const { address } = await server.listen({ host: '127.0.0.1', port: 0 });
  const registration = await registry.register({
    service: WorkService.name,
    address,
    id: options.id ?? address,
    ...(options.zone ? { zone: options.zone } : {}),
    ...(options.weight === undefined ? {} : { weight: options.weight }),
  });
  let closing: Promise<void> | undefined;
  return {
    id: registration.instance.id,
    address,
    registration,
    close: () =>
      (closing ??= (async () => {
        await registration.deregister().catch(() => {});
        await server.close({ graceMs: 0 });
        tracker.close();
        await registry.close();
      })()),
  };
}

export interface SseStream {
  readonly events: SseEvent[];
  /** Resolves with the first event (from the start of the stream) of `type` matching `pred`. */
  next(type: string, pred?: (data: any) => boolean, timeoutMs?: number): Promise<any>;
  close(): void;
}

/** Opens a server-sent-event stream over plain node:http. */
export function openStream(url: string): Promise<SseStream & { response: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const waiters = new Set<() => void>();
    const req = get(url, (res) => {
      res.setEncoding('utf8');
      const feed = sseParser((e) => {
        events.push(e);
        for (const w of waiters) w();
      });
      res.on('data', feed);
      res.on('error', () => {});
      resolve({
        response: res,
        events,
        next(typeName, pred = () => true, timeoutMs = 10_000) {
          return new Promise((ok, fail) => {
            let from = 0;
            const check = () => {
              for (; from < events.length; from++) {
                const e = events[from]!;
                if (e.event !== typeName) continue;
                const data = JSON.parse(e.data);
                if (pred(data)) {
                  done();
                  ok(data);
                  return;
                }
              }
            };
            const timer = setTimeout(() => {
              done();
              fail(new Error(`no "${typeName}" event matched within ${timeoutMs} ms`));
            }, timeoutMs);
            const done = () => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          });
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}
