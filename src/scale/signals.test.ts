import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../client/client.js';
import { defineService, type, unary } from '../contract/define.js';
import { type CallContext, NEVER_ABORTED } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import { createServer, type Server } from '../server/server.js';
import { bucketBounds, bucketOf, Histogram } from './histogram.js';
import { createLoadTracker, StatsService, statsHandlers } from './signals.js';

const ctx = (service = 'work'): CallContext => ({
  method: `${service}/do`,
  service,
  deadline: Number.POSITIVE_INFINITY,
  signal: NEVER_ABORTED,
  metadata: {},
  attempt: 1,
  idempotent: true,
});

describe('histogram', () => {
  it('maps every value into a bucket that contains it, within 1/16 relative width', () => {
    for (const v of [0, 1, 15, 16, 17, 31, 32, 100, 999, 12_345, 1_000_000, 2 ** 30]) {
      const [lo, hi] = bucketBounds(bucketOf(v));
      expect(v).toBeGreaterThanOrEqual(lo);
      expect(v).toBeLessThan(hi);
      if (v >= 16) expect((hi - lo) / lo).toBeLessThanOrEqual(1 / 16);
    }
  });

  it('estimates quantiles of a uniform distribution within 7 %', () => {
    const h = new Histogram();
    for (let ms = 1; ms <= 1000; ms++) h.recordMs(ms);
    const [p50, p90, p99] = h.quantilesMs([0.5, 0.9, 0.99]);
    expect(Math.abs(p50! - 500) / 500).toBeLessThan(0.07);
    expect(Math.abs(p90! - 900) / 900).toBeLessThan(0.07);
    expect(Math.abs(p99! - 990) / 990).toBeLessThan(0.07);
  });
});

describe('load tracker', () => {
  it('counts rate, errors and shed calls over a sliding window, ignoring its own stats calls', async () => {
    let t = 100_000;
    let probe = { activeMs: 0, idleMs: 0, cpuMicros: 0 };
    const tracker = createLoadTracker({ now: () => t, probe: () => probe, timer: false, capacity: 8 });
    const ok = async () => 'ok';
    for (let i = 0; i < 20; i++) await tracker.filter(null, ctx(), ok);
    await tracker
      .filter(null, ctx(), async () => {
        throw new RpcError('INTERNAL', 'boom');
      })
      .catch(() => {});
    await tracker
      .filter(null, ctx(), async () => {
        throw new RpcError('RESOURCE_EXHAUSTED', 'shed');
      })
      .catch(() => {});
    await tracker.filter(null, ctx('tensile.stats'), ok);

    t += 2_000;
    probe = { activeMs: 500, idleMs: 1_500, cpuMicros: 400_000 };
    const s = tracker.snapshot();
    expect([s.calls, s.errors, s.shed, s.capacity]).toEqual([22, 1, 1, 8]);
    expect(s.rate).toBeCloseTo(22 / 2, 5);
    expect(s.utilization).toBeCloseTo(0.25, 3);
    expect(s.cpu).toBeCloseTo(0.2, 3);

    // Eleven seconds later the calls have left the ten-second window.
    t += 11_000;
    const later = tracker.snapshot();
    expect([later.calls, later.rate, later.p99Ms]).toEqual([0, 0, 0]);
    expect(later.windowMs).toBeGreaterThanOrEqual(9_000);
    expect(later.windowMs).toBeLessThanOrEqual(10_000);
  });

  it('averages calls in flight over time across the last buckets', async () => {
    let t = 100_000;
    const tracker = createLoadTracker({
      now: () => t,
      timer: false,
      probe: () => ({ activeMs: 0, idleMs: 0, cpuMicros: 0 }),
    });
    const gates: (() => void)[] = [];
    const slow = () => new Promise<string>((resolve) => gates.push(() => resolve('done')));
    const calls = [1, 2].map(() => tracker.filter(null, ctx(), slow));
    t = 102_000;
    expect(tracker.snapshot()).toMatchObject({ inflight: 2, concurrency: 2 });
    for (const open of gates) open();
    await Promise.all(calls);
    t = 103_500;
    // Slots 101–103: 2 calls × 1 s in 101, then nothing, over 2.5 s.
    expect(tracker.snapshot()).toMatchObject({ inflight: 0, concurrency: 0.8 });
  });

  it('counts calls in flight while they run', async () => {
    const tracker = createLoadTracker({ timer: false });
    const gates: (() => void)[] = [];
    const slow = () => new Promise<string>((resolve) => gates.push(() => resolve('done')));
    const calls = [1, 2, 3].map(() => tracker.filter(null, ctx(), slow));
    expect(tracker.snapshot().inflight).toBe(3);
    for (const open of gates) open();
    await Promise.all(calls);
    const s = tracker.snapshot();
    expect([s.inflight, s.calls]).toEqual([0, 3]);
    expect(s.p99Ms).toBeGreaterThanOrEqual(0);
  });
});

describe('stats service', () => {
  const Sleeper = defineService('sleeper', {
    sleep: unary({ input: type<number>(), output: type<number>() }),
  });
  let server: Server | undefined;
  afterEach(async () => server?.close({ graceMs: 100 }));

  it('serves the live snapshot of a real server over the wire', async () => {
    const tracker = createLoadTracker();
    server = createServer({ filters: [tracker.filter] })
      .implement(Sleeper, { sleep: (ms) => new Promise((r) => setTimeout(() => r(ms), ms)) })
      .implement(StatsService, statsHandlers(tracker));
    const { address } = await server.listen();
    const sleeper = createClient(Sleeper, { addresses: [address] });
    const stats = createClient(StatsService, { addresses: [address] });
    try {
      await Promise.all(Array.from({ length: 5 }, () => sleeper.sleep(20)));
      const pending = Promise.all(Array.from({ length: 3 }, () => sleeper.sleep(300)));
      await expect.poll(() => server?.inflight).toBe(3);
      const s = await stats.get(undefined);
      expect(s.inflight).toBe(3);
      expect(s.calls).toBe(5);
      expect(s.p50Ms).toBeGreaterThanOrEqual(15);
      expect(s.pid).toBe(process.pid);
      await pending;
    } finally {
      await Promise.all([sleeper.close(), stats.close()]);
      tracker.close();
    }
  });
});
