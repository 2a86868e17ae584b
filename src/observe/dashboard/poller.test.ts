import { afterEach, describe, expect, it } from 'vitest';
import { RpcError } from '../../core/errors.js';
import { type Instance, normalizeInstance } from '../../registry/instance.js';
import { createLoadTracker, StatsService } from '../../scale/signals.js';
import { createServer, type Server } from '../../server/server.js';
import { type StatsPoller, statsPoller } from './poller.js';

let server: Server | undefined;
let poller: StatsPoller | undefined;
afterEach(async () => {
  await poller?.close();
  await server?.close({ graceMs: 0 });
});

/** A real server whose stats method answers, or fails while `healthy` is false. */
async function statsServer() {
  const tracker = createLoadTracker({ timer: false });
  const state = { healthy: true, reads: 0 };
  server = createServer().implement(StatsService, {
    get: async () => {
      state.reads++;
      if (!state.healthy) throw new RpcError('UNAVAILABLE', 'not now');
      return tracker.snapshot();
    },
  });
  const { address } = await server.listen({ host: '127.0.0.1', port: 0 });
  return { address, state };
}

const at = (address: string, service: string, status: Instance['status'] = 'UP') =>
  normalizeInstance({ service, address, id: `${service}@${address}`, status });

describe('statsPoller', () => {
  it('reads an address once for every service registered there, and skips instances not UP', async () => {
    const { address, state } = await statsServer();
    poller = statsPoller();
    const results = await poller.poll([at(address, 'a'), at(address, 'b'), at('127.0.0.1:1', 'c', 'DOWN')]);
    expect(results.map((r) => r.instance.service)).toEqual(['a', 'b']);
    expect(results[0]!.snapshot).toBe(results[1]!.snapshot);
    expect(state.reads).toBe(1);
  });

  it('backs off from an address that does not answer, and reads it again after the pause', async () => {
    const { address, state } = await statsServer();
    let t = 1_000_000;
    poller = statsPoller({ now: () => t, timeoutMs: 2_000 });
    const fleet = [at(address, 'a')];
    state.healthy = false;
    expect(await poller.poll(fleet)).toEqual([]);
    expect(await poller.poll(fleet)).toEqual([]); // second miss in a row: 2 s pause
    const reads = state.reads;
    state.healthy = true;
    expect(await poller.poll(fleet)).toEqual([]);
    expect(state.reads).toBe(reads);
    t += 2_000;
    expect(await poller.poll(fleet)).toHaveLength(1);
    expect(await poller.poll(fleet)).toHaveLength(1);
  });

  it('reads at most maxInstances addresses per poll', async () => {
    const { address } = await statsServer();
    poller = statsPoller({ maxInstances: 1, concurrency: 1 });
    const results = await poller.poll([at(address, 'a'), at('127.0.0.1:1', 'z')]);
    expect(results.map((r) => r.instance.service)).toEqual(['a']);
  });
});
