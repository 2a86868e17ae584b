import { describe, expect, it } from 'vitest';
import { RpcError } from '../core/errors.js';
import type { Service } from '../core/service.js';
import { type BreakEvent, circuitBreaker } from './breaker.js';
import { ctxFor, fakeClock, hangs } from './testing.js';

const ok: Service = async () => 'ok';
const down: Service = async () => {
  throw new RpcError('UNAVAILABLE', 'down');
};
const notFound: Service = async () => {
  throw new RpcError('NOT_FOUND', 'no such thing');
};

async function run(
  filter: (r: unknown, c: ReturnType<typeof ctxFor>, n: Service) => Promise<unknown>,
  s: Service,
  n: number,
) {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      await filter(i, ctxFor(), s).then(
        () => 'ok',
        (e: RpcError) => e.code,
      ),
    );
  }
  return out;
}

describe('circuitBreaker', () => {
  it('trips exactly at the failure-rate threshold once the minimum calls are in', async () => {
    const clock = fakeClock();
    const b = circuitBreaker({ window: { size: 10 }, minimumCalls: 10, failureRate: 0.5, clock });
    const breaks: BreakEvent[] = [];
    b.onBreak((e) => breaks.push(e));
    await run(b, ok, 5);
    await run(b, down, 4);
    expect(b.state).toBe('closed'); // 4 of 9: below the minimum
    await run(b, down, 1); // 5 of 10 = 50 %
    expect(b.isOpen()).toBe(true);
    expect(breaks).toMatchObject([{ calls: 10, failureRate: 0.5, openMs: 5000 }]);
    const err = await b(0, ctxFor(), ok).catch((e: RpcError) => e);
    expect(err).toMatchObject({ code: 'UNAVAILABLE', mayHaveProcessed: false });
  });

  it('ignores answers such as NOT_FOUND, and uses a custom classifier when given', async () => {
    const b = circuitBreaker({ window: { size: 5 }, minimumCalls: 5 });
    await run(b, notFound, 20);
    expect(b.state).toBe('closed');
    const strict = circuitBreaker({ window: { size: 5 }, minimumCalls: 5, isFailure: () => true });
    await run(strict, notFound, 5);
    expect(strict.state).toBe('open');
  });

  it('half-opens after the wait, closes after the probes pass, and resets the wait', async () => {
    const clock = fakeClock();
    const b = circuitBreaker({ window: { size: 4 }, minimumCalls: 4, halfOpenCalls: 2, openMs: 1000, clock });
    const log: string[] = [];
    b.onBreak((e) => log.push(`break ${e.openMs}`));
    b.onHalfOpen(() => log.push('half-open'));
    b.onReset(() => log.push('reset'));
    await run(b, down, 4);
    await clock.advance(999);
    expect(b.state).toBe('open');
    await clock.advance(1);
    expect(await run(b, ok, 2)).toEqual(['ok', 'ok']);
    expect(b.state).toBe('closed');
    expect(log).toEqual(['break 1000', 'half-open', 'reset']);
  });

  it('a failed probe reopens with a doubled wait, capped', async () => {
    const clock = fakeClock();
    const b = circuitBreaker({ window: { size: 2 }, minimumCalls: 2, openMs: 100, maxOpenMs: 300, clock });
    const waits: number[] = [];
    b.onBreak((e) => waits.push(e.openMs));
    await run(b, down, 2);
    for (let i = 0; i < 3; i++) {
      await clock.advance(b.breaker.retryAfterMs);
      await run(b, down, 1);
    }
    expect(waits).toEqual([100, 200, 300, 300]);
  });

  it('limits concurrent probes when half-open', async () => {
    const clock = fakeClock();
    const b = circuitBreaker({ window: { size: 1 }, minimumCalls: 1, halfOpenCalls: 2, openMs: 10, clock });
    await run(b, down, 1);
    await clock.advance(10);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: Service = async () => {
      await gate;
      return 'ok';
    };
    const probes = [b(0, ctxFor(), slow), b(1, ctxFor(), slow)];
    await expect(b(2, ctxFor(), ok)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    release();
    await Promise.all(probes);
    expect(b.state).toBe('closed');
  });

  it('trips on the slow-call rate with a time-based window, which forgets old calls', async () => {
    const clock = fakeClock();
    const b = circuitBreaker({
      window: { ms: 1000 },
      minimumCalls: 3,
      slowCallMs: 50,
      slowCallRate: 0.6,
      clock,
    });
    const slow: Service = async () => {
      await clock.advance(60);
      return 'ok';
    };
    await run(b, slow, 2);
    await clock.advance(1000); // both slow calls leave the window
    await run(b, ok, 2);
    await run(b, slow, 1);
    expect(b.state).toBe('closed'); // 1 of 3 slow
    await run(b, slow, 2);
    expect(b.state).toBe('open'); // 3 of 5 slow
  });

  it('re-trips when half-open probes do not settle within the open wait', async () => {
    const clock = fakeClock();
    const b = circuitBreaker({ window: { size: 1 }, minimumCalls: 1, halfOpenCalls: 2, openMs: 100, clock });
    const breaks: BreakEvent[] = [];
    b.onBreak((e) => breaks.push(e));
    await run(b, down, 1);
    await clock.advance(100);
    void b(0, ctxFor(), hangs).catch(() => {});
    void b(1, ctxFor(), hangs).catch(() => {});
    await clock.advance(99);
    expect(b.state).toBe('half-open');
    await clock.advance(1);
    expect(b.state).toBe('open'); // the hung probes count as a failed probe: the wait doubles
    expect(breaks.map((e) => e.openMs)).toEqual([100, 200]);
    await clock.advance(200);
    expect(await run(b, ok, 2)).toEqual(['ok', 'ok']);
    expect(b.state).toBe('closed');
  });

  it('clamps minimumCalls to a smaller count window, which could never hold that many', async () => {
    const b = circuitBreaker({ window: { size: 10 } }); // minimumCalls left at 20
    await run(b, down, 10);
    expect(b.state).toBe('open');
  });

  it('drops outcomes of calls admitted before a trip', async () => {
    const clock = fakeClock();
    const b = circuitBreaker({ window: { size: 2 }, minimumCalls: 2, halfOpenCalls: 1, openMs: 10, clock });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const straggler = b(0, ctxFor(), async () => {
      await gate;
      return 'late';
    });
    await run(b, down, 2);
    await clock.advance(10);
    release();
    await straggler;
    expect(b.state).toBe('half-open'); // the straggler's success was not a probe
  });
});
