import { describe, expect, it } from 'vitest';
import type { RpcError } from '../core/errors.js';
import type { Service } from '../core/service.js';
import { adaptiveConcurrency } from './shedding.js';
import { ctxFor, deferred } from './testing.js';

/** Runs `n` calls at once whose RTT on the fake clock is `rtt`; returns how many were shed. */
async function wave(
  filter: ReturnType<typeof adaptiveConcurrency>,
  clock: { t: number },
  n: number,
  rtt: number,
) {
  const gate = deferred<void>();
  const service: Service = async () => {
    await gate.promise;
    return 'ok';
  };
  const calls = Array.from({ length: n }, (_, i) =>
    filter(i, ctxFor(), service).then(
      () => 0,
      () => 1,
    ),
  );
  clock.t += rtt;
  gate.resolve();
  return (await Promise.all(calls)).reduce<number>((a, b) => a + b, 0);
}

describe('adaptiveConcurrency', () => {
  it('rejects early, as not processed, once in-flight calls reach the limit', async () => {
    const clock = { t: 0 };
    const f = adaptiveConcurrency({ initialLimit: 3, minLimit: 3, maxLimit: 3, now: () => clock.t });
    const shed: string[] = [];
    f.onShed((e) => shed.push(e.policy));
    const gate = deferred<string>();
    const running = [1, 2, 3].map((i) => f(i, ctxFor(), () => gate.promise));
    const err = await f(4, ctxFor(), async () => 'never').catch((e: RpcError) => e);
    expect(err).toMatchObject({ code: 'RESOURCE_EXHAUSTED', mayHaveProcessed: false });
    expect(shed).toEqual(['adaptive-concurrency']);
    gate.resolve('ok');
    await Promise.all(running);
    expect(f.inflight).toBe(0);
    expect(await f(5, ctxFor(), async () => 'ok')).toBe('ok');
  });

  it('grows while latency holds steady and shrinks when queueing raises it', async () => {
    const clock = { t: 0 };
    const f = adaptiveConcurrency({ initialLimit: 20, minLimit: 5, maxLimit: 100, now: () => clock.t });
    const limits: number[] = [];
    f.onLimit((e) => limits.push(e.limit));
    for (let i = 0; i < 30; i++) await wave(f, clock, f.limit, 10);
    const grown = f.limit;
    expect(grown).toBeGreaterThan(20);
    expect(grown).toBeLessThanOrEqual(100);
    // Latency quadruples: the server is queueing, and the limit drops within one wave.
    await wave(f, clock, f.limit, 40);
    expect(f.limit).toBeLessThan(grown / 2);
    expect(f.limit).toBeGreaterThanOrEqual(5);
    // If the slower latency persists it becomes the new baseline, and the limit climbs back.
    const low = f.limit;
    for (let i = 0; i < 30; i++) await wave(f, clock, f.limit, 40);
    expect(f.limit).toBeGreaterThan(low);
    expect(limits.length).toBeGreaterThan(5);
  });

  it('does not grow while the application uses less than half of the limit', async () => {
    const clock = { t: 0 };
    const f = adaptiveConcurrency({ initialLimit: 40, minLimit: 5, now: () => clock.t });
    for (let i = 0; i < 50; i++) await wave(f, clock, 5, 10);
    expect(f.limit).toBe(40);
  });
});
