import { afterEach, describe, expect, it } from 'vitest';
import { eurekaRegistry } from './eureka.js';
import { waitFor } from './registry.case.js';
import { gate, type ScriptedReply, scriptedServer } from './scripted-http.js';

/** A fake Eureka server holding one instance; the test decides how each call answers. */
async function fakeEureka() {
  const state = {
    registered: false,
    status: '',
    renew: (): ScriptedReply => ({ status: 200 }),
    post: (): ScriptedReply | Promise<ScriptedReply> => ({ status: 204 }),
    remove: (): ScriptedReply => ({ status: 200 }),
  };
  const server = await scriptedServer(async (req) => {
    if (req.method === 'POST') {
      const reply = await state.post();
      if (reply.status === 204) {
        state.registered = true;
        state.status = req.body.instance.status;
      }
      return reply;
    }
    if (req.method === 'PUT') return state.renew();
    if (req.method === 'DELETE') {
      const reply = state.remove();
      if (reply.status === 200) state.registered = false;
      return reply;
    }
    return { status: 404 };
  });
  const count = (method: string) => server.log.filter((r) => r.method === method).length;
  return { server, state, count };
}

describe('Eureka registry client writes', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const setup = async () => {
    const fake = await fakeEureka();
    const client = eurekaRegistry({ serviceUrl: `${fake.server.url}/eureka`, renewIntervalMs: 50 });
    cleanups.push(
      () => fake.server.close(),
      () => client.close(),
    );
    const reg = await client.register({ service: 's', address: '127.0.0.1:1', id: 'i' });
    return { ...fake, reg };
  };

  it('deregister waits for a re-registration in flight, so no instance outlives it', async () => {
    const { state, count, reg } = await setup();
    const held = gate();
    state.post = () => held.promise.then(() => ({ status: 204 }));
    state.renew = () => ({ status: 404 });
    await waitFor(() => count('POST') === 2, 2000, 'the re-registration');
    const done = reg.deregister();
    await new Promise((r) => setTimeout(r, 100));
    expect(count('DELETE')).toBe(0);
    held.open();
    await done;
    expect(state.registered).toBe(false);
  });

  it('a failed deregister can be retried', async () => {
    const { state, count, reg } = await setup();
    state.remove = () => ({ status: 400 });
    await expect(reg.deregister()).rejects.toThrow(/400/);
    state.remove = () => ({ status: 200 });
    await reg.deregister();
    expect([count('DELETE'), state.registered]).toEqual([2, false]);
  });

  it('a status the server refused is published again with the next heartbeat', async () => {
    const { state, reg } = await setup();
    state.post = () => ({ status: 400 });
    await expect(reg.setStatus('OUT_OF_SERVICE')).rejects.toThrow(/400/);
    expect(state.status).toBe('UP');
    state.post = () => ({ status: 204 });
    await waitFor(() => state.status === 'OUT_OF_SERVICE', 2000, 'the status retried');
  });
});
