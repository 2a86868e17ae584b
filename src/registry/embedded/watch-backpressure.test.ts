import { get, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../registry.case.js';
import { type RunningRegistry, startRegistry } from './server.js';
import { sseParser } from './sse.js';

let reg: RunningRegistry;
beforeAll(async () => {
  reg = await startRegistry({ warmupMs: 0, dashboard: false });
});
afterAll(async () => reg.close());

const post = async (path: string, body: unknown) => {
  const res = await fetch(reg.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
};
const health = async () => (await (await fetch(`${reg.url}/v1/health`)).json()) as Record<string, number>;

interface Watcher {
  res: IncomingMessage;
  /** The `seq` of instance "x" in every snapshot received, and the snapshots' versions. */
  seqs: string[];
  versions: number[];
}
const watch = (service: string) =>
  new Promise<Watcher>((resolve, reject) => {
    get(`${reg.url}/v1/watch?service=${service}`, (res) => {
      const w: Watcher = { res, seqs: [], versions: [] };
      const parse = sseParser((e) => {
        const data = JSON.parse(e.data) as { version: number; instances: { id: string; metadata: any }[] };
        w.versions.push(data.version);
        w.seqs.push(data.instances.find((i) => i.id === 'x')?.metadata.seq);
      });
      res.setEncoding('utf8');
      res.on('data', parse);
      resolve(w);
    }).on('error', reject);
  });

describe('watch streams under back-pressure', () => {
  it('a watcher that never reads costs bounded memory; readers get every change, a slow one the latest', async () => {
    // ~200 instances with some metadata: every snapshot is about 90 KB.
    const pad = 'p'.repeat(250);
    for (let i = 0; i < 200; i++)
      await post('/v1/services/big/instances', {
        address: `10.0.0.1:${1000 + i}`,
        id: `i${i}`,
        metadata: { pad },
      });
    await post('/v1/services/big/instances', { address: '10.0.0.2:1', id: 'x', metadata: { seq: 'init' } });

    const stalled = await watch('big');
    stalled.res.pause(); // the client stops reading: its socket and then the registry's fill up
    const reader = await watch('big');
    await waitFor(() => reader.seqs.length === 1, 5_000);

    const changes = 200; // ~18 MB of snapshots, far beyond what the kernel's socket buffers take
    let maxBuffered = 0;
    for (let i = 0; i < changes; i++) {
      await post('/v1/services/big/instances', { address: '10.0.0.2:1', id: 'x', metadata: { seq: `${i}` } });
      // Paced by the reader: each change is flushed on its own, so a reader sees each one.
      await waitFor(() => reader.seqs.at(-1) === `${i}`, 5_000);
      if (i % 20 === 19) maxBuffered = Math.max(maxBuffered, (await health()).watchBufferedBytes!);
    }
    // One snapshot past the socket's high-water mark at most (without the bound: megabytes).
    expect(maxBuffered).toBeLessThan(512 * 1024);
    expect(reader.seqs).toEqual(['init', ...Array.from({ length: changes }, (_, i) => `${i}`)]);

    // The stalled client reads again: it catches up with the latest set, never going back.
    stalled.res.resume();
    await waitFor(() => stalled.seqs.at(-1) === `${changes - 1}`, 10_000);
    expect(stalled.versions).toEqual([...stalled.versions].sort((a, b) => a - b));
    expect(stalled.seqs.length).toBeLessThan(changes);
    stalled.res.destroy();
    reader.res.destroy();
  }, 60_000);
});
