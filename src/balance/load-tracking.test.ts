import { describe, expect, it } from 'vitest';
import { newLoad } from '../client/endpoint-types.js';
import { compose } from '../core/service.js';
import { recordLatency, trackLoad } from './load-tracking.js';
import { testContext, testEndpoint } from './test-endpoints.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('trackLoad', () => {
  it('counts calls in flight and completions, for successes and failures alike', async () => {
    const clock = { now: 0 };
    const endpoint = testEndpoint();
    const filter = trackLoad({ now: () => clock.now })(endpoint);
    const a = deferred<string>();
    const b = deferred<string>();
    const first = filter('req', testContext(), () => a.promise);
    const second = filter('req', testContext(), () => b.promise);
    expect(endpoint.load.inflight).toBe(2);

    clock.now = 40;
    a.resolve('ok');
    await expect(first).resolves.toBe('ok');
    expect(endpoint.load).toMatchObject({ inflight: 1, completed: 1, peakEwmaMs: 40, avgLatencyMs: 40 });

    const boom = new Error('boom');
    b.reject(boom);
    await expect(second).rejects.toBe(boom);
    expect(endpoint.load.inflight).toBe(0);
    expect(endpoint.load.completed).toBe(2);
  });

  it('undoes inflight when next throws synchronously, and composes as a Filter', async () => {
    const endpoint = testEndpoint();
    const service = compose(trackLoad()(endpoint))(() => {
      throw new Error('sync');
    });
    await expect(service('req', testContext())).rejects.toThrow('sync');
    expect(endpoint.load).toMatchObject({ inflight: 0, completed: 1 });
  });
});

describe('recordLatency (peak EWMA)', () => {
  it('jumps up at once and decays down with τ = decayMs', () => {
    const load = newLoad();
    recordLatency(load, 100, 0, true, 10_000);
    expect(load.peakEwmaMs).toBe(100);
    recordLatency(load, 10, 10_000, true, 10_000); // one τ later: 100/e + 10(1 − 1/e)
    expect(load.peakEwmaMs).toBeCloseTo(100 / Math.E + 10 * (1 - 1 / Math.E), 6);
    recordLatency(load, 500, 10_001, true, 10_000);
    expect(load.peakEwmaMs).toBe(500);
    expect(load.ewmaStampMs).toBe(10_001);
  });

  it('lets failures raise the cost but never lower it, and keeps them out of avgLatencyMs', () => {
    const load = newLoad();
    recordLatency(load, 50, 0, true);
    recordLatency(load, 1, 20_000, false); // fast failure
    expect(load.peakEwmaMs).toBe(50);
    expect(load.avgLatencyMs).toBe(50);
    recordLatency(load, 80, 20_001, false); // slow failure
    expect(load.peakEwmaMs).toBe(80);
    expect(load.avgLatencyMs).toBe(50);
    expect(load.completed).toBe(3);
  });

  it('averages successful latencies with time decay', () => {
    const load = newLoad();
    const stamp = { stampMs: 0 };
    recordLatency(load, 10, 0, true, 1000, stamp);
    recordLatency(load, 30, 1000, true, 1000, stamp);
    expect(load.avgLatencyMs).toBeCloseTo(10 / Math.E + 30 * (1 - 1 / Math.E), 6);
  });
});
