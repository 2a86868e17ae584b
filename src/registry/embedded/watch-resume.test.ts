import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../registry.case.js';
import { type RunningRegistry, startRegistry } from './server.js';
import { sseParser } from './sse.js';

let server: RunningRegistry;
beforeAll(async () => {
  server = await startRegistry({ warmupMs: 300 });
});
afterAll(async () => server.close());

/** A raw watch stream that says it last saw another epoch, as after a registry restart. */
function resumingWatch(service: string, ctrl: AbortController) {
  const sets: unknown[][] = [];
  void (async () => {
    const res = await fetch(`${server.url}/v1/watch?service=${service}`, {
      signal: ctrl.signal,
      headers: { 'last-event-id': 'old-epoch:42' },
    });
    const parse = sseParser((e) => sets.push(JSON.parse(e.data).instances));
    const decoder = new TextDecoder();
    const reader = res.body!.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      parse(decoder.decode(r.value, { stream: true }));
    }
  })().catch(() => {});
  return sets;
}

it('every watcher resuming from an old epoch stays subscribed after the warm-up wait', async () => {
  const ctrl = new AbortController();
  const watchers = [0, 1, 2].map(() => resumingWatch('resumed', ctrl));
  // All three wait out the warm-up, then get the (empty) current set.
  await waitFor(() => watchers.every((w) => w.length === 1), 5000, 'first snapshots');
  const reg = await fetch(`${server.url}/v1/services/resumed/instances`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ address: '127.0.0.1:1', id: 'r1' }),
  });
  expect(reg.status).toBe(201);
  await waitFor(() => watchers.every((w) => w.length === 2), 5000, 'the change on every stream');
  expect(watchers.map((w) => w[1])).toEqual([0, 1, 2].map(() => [expect.objectContaining({ id: 'r1' })]));
  ctrl.abort();
});
