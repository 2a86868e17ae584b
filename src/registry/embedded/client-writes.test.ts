import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../registry.case.js';
import type { Registry } from '../registry.js';
import { gate, type ScriptedReply, type ScriptedRequest, scriptedServer } from '../scripted-http.js';
import { embeddedRegistry } from './client.js';

/** A fake registry holding one lease; the test decides how renewals, status and DELETE answer. */
async function fakeRegistry() {
  const state = {
    registered: false,
    status: '',
    renew: (): ScriptedReply | Promise<ScriptedReply> => ({ status: 200 }),
    post: (): void | Promise<void> => {},
    setStatus: (): ScriptedReply => ({ status: 200 }),
    remove: (): ScriptedReply => ({ status: 204 }),
  };
  const server = await scriptedServer(async (req: ScriptedRequest) => {
    if (req.method === 'POST') {
      await state.post();
      state.registered = true;
      state.status = req.body.status;
      return { status: 201, body: { instance: req.body, renewIntervalMs: 50, leaseTtlMs: 1000 } };
    }
    if (req.url.endsWith('/renew')) return state.renew();
    if (req.url.endsWith('/status')) {
      const reply = state.setStatus();
      if (reply.status === 200) state.status = req.body.status;
      return reply;
    }
    if (req.method === 'DELETE') {
      const reply = state.remove();
      if (reply.status === 204) state.registered = false;
      return reply;
    }
    return { status: 404 };
  });
  const count = (method: string, suffix = '') =>
    server.log.filter((r) => r.method === method && r.url.endsWith(suffix)).length;
  return { server, state, count };
}

describe('embedded registry client writes', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const setup = async (extra: { requestTimeoutMs?: number } = {}) => {
    const fake = await fakeRegistry();
    const client: Registry = embeddedRegistry({ url: fake.server.url, ...extra });
    cleanups.push(
      () => fake.server.close(),
      () => client.close(),
    );
    const reg = await client.register({ service: 's', address: '127.0.0.1:1', id: 'i' });
    return { ...fake, reg };
  };

  it('deregister waits for a re-registration in flight, so no lease outlives it', async () => {
    const { state, count, reg } = await setup();
    const held = gate();
    state.post = () => held.promise;
    state.renew = () => ({ status: 404 }); // the registry lost the lease: the client re-registers
    await waitFor(() => count('POST') === 2, 2000, 'the re-registration');
    const done = reg.deregister();
    await new Promise((r) => setTimeout(r, 100));
    expect(count('DELETE')).toBe(0); // not while the POST is unanswered
    held.open();
    await done;
    expect(count('DELETE')).toBe(1);
    expect(state.registered).toBe(false);
  });

  it('a failed deregister can be retried', async () => {
    const { state, count, reg } = await setup();
    state.remove = () => ({ status: 500 });
    await expect(reg.deregister()).rejects.toThrow(/500/);
    state.remove = () => ({ status: 204 });
    await reg.deregister();
    expect(count('DELETE')).toBe(2);
    expect(state.registered).toBe(false);
    await reg.deregister(); // done is done
    expect(count('DELETE')).toBe(2);
  });

  it('a status the registry refused is sent again after the next renewal', async () => {
    const { state, reg } = await setup();
    state.setStatus = () => ({ status: 503 });
    await expect(reg.setStatus('OUT_OF_SERVICE')).rejects.toThrow(/503/);
    expect(state.status).toBe('UP');
    state.setStatus = () => ({ status: 200 });
    await waitFor(() => state.status === 'OUT_OF_SERVICE', 2000, 'the status retried');
  });

  it('a hung renewal gives up after one interval, not requestTimeoutMs, so re-registration follows within a second', async () => {
    // requestTimeoutMs is long; the renewal must not wait for it.
    const { state, count } = await setup({ requestTimeoutMs: 10_000 });
    const hung = gate();
    cleanups.push(async () => hung.open());
    state.renew = () => hung.promise.then(() => ({ status: 200 }));
    await waitFor(() => count('PUT', '/renew') === 1, 2000, 'the first renewal');
    const restartedAt = Date.now();
    state.renew = () => ({ status: 404 }); // meanwhile the registry restarted empty
    await waitFor(() => count('POST') === 2, 5000, 're-registration');
    // One interval (50 ms) to give up, a short backoff, a 404, the POST: far below the 10 s the
    // request timeout would take (a bound loose enough for a loaded CI machine).
    expect(Date.now() - restartedAt).toBeLessThan(5000);
  });
});
