import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningRegistry, startRegistry } from '../../registry/embedded/server.js';
import { fuzzRuns, liveHeapBytes } from './test-heap.js';

/**
 * Real HTTP against a running embedded registry (with access control on, so the auth path is
 * fuzzed too): random methods, paths, headers and bodies. Every answer is below 500; every
 * error is JSON with a message; nothing hangs; the registry stays healthy and bounded.
 */
let open: RunningRegistry;
let guarded: RunningRegistry;
const agent = new Agent({ keepAlive: true, maxSockets: 8 });
beforeAll(async () => {
  const common = { warmupMs: 0, dashboard: false, maxBodyBytes: 4096, maxInstances: 5_000 } as const;
  open = await startRegistry(common);
  guarded = await startRegistry({ ...common, auth: { tokens: { 'good-token': 'ci' }, protectReads: true } });
});
afterAll(async () => {
  agent.destroy();
  await Promise.all([open.close(), guarded.close()]);
});

interface Reply {
  status: number;
  type: string;
  body: string;
}

function send(base: string, method: string, path: string, headers: Record<string, string>, body: Buffer) {
  return new Promise<Reply>((resolve, reject) => {
    const payload = method === 'GET' || method === 'HEAD' ? undefined : body;
    // Explicit framing: Node sends an OPTIONS body unframed, which the server would read as the next request.
    const framed = payload ? { ...headers, 'content-length': String(payload.length) } : headers;
    const req = request(`${base}${path}`, { method, agent, headers: framed, timeout: 10_000 }, (res) => {
      const type = String(res.headers['content-type'] ?? '');
      if (type.startsWith('text/event-stream')) {
        // A watch that was accepted streams forever: its first bytes are enough.
        const done = () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, type, body: '' });
        };
        res.once('data', done);
        res.once('end', done);
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type, body: Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within 10 s: ${method} ${path}`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const segment = fc.oneof(
  fc.constantFrom('v1', 'services', 'instances', 'renew', 'status', 'watch', 'health', 'eureka', 'apps'),
  fc.constantFrom(
    'delta',
    'ORDERS',
    'orders',
    'a1',
    '%',
    '%zz',
    '%2F',
    '..',
    '.',
    '',
    '__proto__',
    'constructor',
  ),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
);
const randomPath = fc
  .tuple(
    fc.array(segment, { maxLength: 6 }),
    fc.option(fc.constantFrom('?service=x', '?status=UP', '?', '?service=')),
  )
  .map(([parts, q]) => `/${parts.join('/')}${q ?? ''}`);
const name = fc.oneof(fc.constantFrom('orders', 'ORDERS', 'a1', 'e1'), segment);
/** The real routes with random parameters: reaches handlers, not just the router's 404. */
const routePath = fc
  .tuple(
    fc.constantFrom(
      '/v1/services',
      '/v1/services/S',
      '/v1/services/S/instances',
      '/v1/services/S/instances/I',
      '/v1/services/S/instances/I/renew',
      '/v1/services/S/instances/I/status',
      '/v1/watch?service=S',
      '/v1/health',
      '/eureka/apps',
      '/eureka/apps/delta',
      '/eureka/apps/S',
      '/eureka/apps/S/I',
      '/eureka/apps/S/I/status?value=OUT_OF_SERVICE',
      '/eureka/instances/I',
    ),
    name,
    name,
  )
  .map(([t, s, i]) => t.replace('S', s).replace('I', i));
const path = fc.oneof(routePath, routePath, randomPath);
const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS');
const json = fc.oneof(
  fc.json(),
  fc.record({
    address: fc.oneof(fc.constantFrom('127.0.0.1:80', '[::1]:1', 'host', ':0', ''), fc.string()),
    id: fc.option(fc.string({ maxLength: 20 })),
    weight: fc.option(fc.oneof(fc.double(), fc.string())),
    metadata: fc.option(fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.json())),
    status: fc.option(fc.constantFrom('UP', 'DOWN', 'STARTING', 'OUT_OF_SERVICE', 'up', '')),
    registeredAt: fc.option(fc.oneof(fc.integer(), fc.string())),
  }),
  fc.record({ instance: fc.dictionary(fc.string({ maxLength: 12 }), fc.json()) }),
);
const body = fc.oneof(
  json.map((j) => Buffer.from(typeof j === 'string' ? j : JSON.stringify(j))),
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  fc.constant(Buffer.alloc(5000, 'x')),
);
const headers = fc.record(
  {
    'content-type': fc.constantFrom('application/json', 'text/plain', 'application/vnd.x+json', '', 'json'),
    authorization: fc.oneof(
      fc.constantFrom('Bearer good-token', 'Bearer bad', 'Bearer', 'Basic x', 'bearer  good-token'),
      fc.string({ maxLength: 30 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
    ),
    accept: fc.constantFrom('application/json', '*/*', 'text/event-stream', 'application/xml'),
    'last-event-id': fc.string({ maxLength: 20 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
  },
  { requiredKeys: [] },
);

/** Like fc.assert, but the report is the failure message only, not a megabyte of counterexample. */
async function assertShort<T>(property: fc.IAsyncProperty<T>, params: fc.Parameters<T>): Promise<void> {
  const out = await fc.check(property, { ...params, endOnFailure: true });
  if (out.failed) {
    const err = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
    throw new Error(`fuzz failure (seed ${out.seed}, path ${out.counterexamplePath}): ${err.slice(0, 1000)}`);
  }
}

describe('fuzzing the registry HTTP API', () => {
  it('answers every random request below 500, errors as JSON with a message, and never hangs', async () => {
    const heapBefore = liveHeapBytes();
    const statuses = new Map<number, number>();
    let n = 0;
    await assertShort(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), method, path, headers, body), { minLength: 8, maxLength: 8 }),
        async (batch) => {
          const replies = await Promise.all(
            batch.map(([useGuarded, m, p, h, b]) =>
              send((useGuarded ? guarded : open).url, m, p, h, b).catch((err: Error) => {
                throw new Error(`${m} ${p} ${JSON.stringify(h)} (${b.length} bytes): ${err.message}`);
              }),
            ),
          );
          replies.forEach((r, i) => {
            n++;
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
            const [, m, p] = batch[i]!;
            if (r.status >= 500 || r.status < 200)
              throw new Error(`${m} ${p} → ${r.status}: ${r.body.slice(0, 200)}`);
            if (r.status >= 400 && m !== 'HEAD') {
              let parsed: { error?: { status?: number; message?: unknown } } | undefined;
              try {
                parsed = JSON.parse(r.body);
              } catch {}
              if (parsed?.error?.status !== r.status || typeof parsed.error.message !== 'string')
                throw new Error(
                  `${m} ${p} → ${r.status} without a JSON error: ${JSON.stringify(r.body.slice(0, 200))}`,
                );
            }
          });
        },
      ),
      { numRuns: fuzzRuns(750) },
    );
    expect(n).toBe(fuzzRuns(750) * 8);
    // The inputs reached both the happy paths and the error paths.
    const seen = [...statuses.keys()].sort();
    expect(
      seen.some((s) => s < 300),
      `statuses ${seen}`,
    ).toBe(true);
    expect(seen).toEqual(expect.arrayContaining([400, 401, 404]));
    for (const r of [open, guarded]) {
      const health = await send(r.url, 'GET', '/v1/health', {}, Buffer.alloc(0));
      expect(health.status).toBe(200);
    }
    expect(liveHeapBytes() - heapBefore).toBeLessThan(64 * 1024 * 1024);
  }, 90_000);

  it('raw garbage on the HTTP port gets a 4xx or a closed connection, never a crash', async () => {
    const line = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      fc
        .tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 40 }), fc.string({ maxLength: 60 }))
        .map(([m, p, h]) => Buffer.from(`${m} ${p} HTTP/1.1\r\nHost: x\r\n${h}\r\n\r\n`)),
    );
    await assertShort(
      fc.asyncProperty(line, async (bytes) => {
        const reply = await new Promise<string>((resolve, reject) => {
          const s = connect({ host: '127.0.0.1', port: open.port });
          let out = '';
          const timer = setTimeout(() => {
            s.destroy();
            reject(new Error(`no answer and no close for ${bytes.toString('hex')}`));
          }, 15_000);
          s.on('data', (d) => {
            out += d.toString('latin1');
          });
          s.on('error', () => {});
          s.once('close', () => {
            clearTimeout(timer);
            resolve(out);
          });
          s.end(bytes);
        });
        const status = /^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1];
        if (status && Number(status) >= 500) throw new Error(`5xx for ${bytes.toString('hex')}: ${reply}`);
      }),
      { numRuns: fuzzRuns(1_000) },
    );
    expect((await send(open.url, 'GET', '/v1/health', {}, Buffer.alloc(0))).status).toBe(200);
  }, 60_000);
});
