import { describe, expect, it } from 'vitest';
import type { CallContext } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import type { Service } from '../core/service.js';
import { retryBudget } from './budget.js';
import { isAbandonedAsSlow } from './classify.js';
import { pickAndCall } from './cluster/pick.js';
import { endpointBreaker } from './endpoint-breaker.js';
import { type HedgeEvent, hedge } from './hedge.js';
import { outlierDetection } from './outlier.js';
import { ctxFor, deferred, fakeClock, fakeDirectory, fakeEndpoint, hangs } from './testing.js';

describe('hedge', () => {
  it('sends a backup to another instance after the delay; the first success wins and the loser is cancelled', async () => {
    const clock = fakeClock();
    const signals = new Map<string, AbortSignal>();
    const slow = fakeEndpoint('slow', (req, ctx) => {
      signals.set('slow', ctx.signal);
      return hangs(req, ctx);
    });
    const fast = fakeEndpoint('fast', async (_req, ctx) => {
      signals.set('fast', ctx.signal);
      return 'fast answer';
    });
    const cluster = pickAndCall(fakeDirectory([slow, fast]));
    const h = hedge({ initialDelayMs: 20, budget: false, clock });
    const events: HedgeEvent[] = [];
    h.onHedge((e) => events.push(e));
    const p = h(1, ctxFor(), cluster);
    await clock.advance(19);
    expect(fast.calls).toBe(0);
    await clock.advance(1);
    expect(await p).toBe('fast answer');
    expect(events).toMatchObject([{ attempt: 2, delayMs: 20, avoid: ['slow'] }]);
    expect(signals.get('slow')?.aborted).toBe(true);
    expect((signals.get('slow')!.reason as RpcError).code).toBe('CANCELLED');
    expect(signals.get('fast')?.aborted).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('the primary can still win after the backup left; then the backup is cancelled', async () => {
    const clock = fakeClock();
    const primary = deferred<string>();
    const seen: CallContext[] = [];
    const service: Service = (req, ctx) => {
      seen.push(ctx);
      return seen.length === 1 ? primary.promise : hangs(req, ctx);
    };
    const p = hedge({ initialDelayMs: 10, budget: false, clock })(1, ctxFor(), service);
    await clock.advance(10);
    primary.resolve('primary');
    expect(await p).toBe('primary');
    expect(seen[1]!.signal.aborted).toBe(true);
    expect(seen[0]!.signal.aborted).toBe(false);
  });

  it('leaves non-idempotent calls alone and returns fast failures without hedging', async () => {
    const clock = fakeClock();
    let calls = 0;
    const h = hedge({ initialDelayMs: 10, budget: false, clock });
    const slowOnce: Service = (req, ctx) => {
      calls++;
      return hangs(req, ctx);
    };
    const caller = new AbortController();
    const p = h(1, ctxFor({ idempotent: false, signal: caller.signal }), slowOnce).catch((e: RpcError) => e);
    await clock.advance(100);
    expect(calls).toBe(1);
    caller.abort();
    await p;
    const failing: Service = async () => {
      calls++;
      throw new RpcError('UNAVAILABLE', 'down');
    };
    calls = 0;
    await expect(h(1, ctxFor(), failing)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await clock.advance(100);
    expect(calls).toBe(1);
  });

  it('fails only when every attempt has failed', async () => {
    const clock = fakeClock();
    const first = deferred<string>();
    let n = 0;
    const service: Service = () =>
      ++n === 1 ? first.promise : Promise.reject(new RpcError('INTERNAL', 'backup broke'));
    const p = hedge({ initialDelayMs: 5, budget: false, clock })(1, ctxFor(), service);
    await clock.advance(5);
    first.resolve('late but fine');
    expect(await p).toBe('late but fine');
  });

  it('a backup whose service throws synchronously fails that attempt, not the timer', async () => {
    const clock = fakeClock();
    const first = deferred<string>();
    let n = 0;
    const service: Service = () => {
      if (++n === 1) return first.promise;
      throw new RpcError('INTERNAL', 'thrown, not rejected');
    };
    const p = hedge({ initialDelayMs: 5, budget: false, clock })(1, ctxFor(), service);
    await clock.advance(5);
    expect(n).toBe(2);
    first.reject(new RpcError('UNAVAILABLE', 'primary failed too'));
    await expect(p).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('stays within its budget', async () => {
    const clock = fakeClock();
    const budget = retryBudget({ percent: 0.1, minPerSecond: 0, clock });
    const h = hedge({ initialDelayMs: 5, budget, clock });
    let calls = 0;
    const answersAt10: Service = async () => {
      calls++;
      await new Promise<void>((r) => clock.setTimeout(r, 10));
      return 'ok';
    };
    for (let i = 0; i < 30; i++) {
      const p = h(i, ctxFor(), answersAt10);
      await clock.advance(10);
      await p;
    }
    expect(calls).toBe(30 + 3);
  });

  it('tracks the latency percentile, with a floor', async () => {
    const clock = fakeClock();
    const h = hedge({
      minSamples: 10,
      windowSize: 100,
      percentile: 0.9,
      initialDelayMs: 50,
      minDelayMs: 3,
      budget: false,
      clock,
    });
    expect(h.delayMs).toBe(50);
    for (let i = 1; i <= 10; i++) {
      const p = h(i, ctxFor(), async () => {
        await new Promise<void>((r) => clock.setTimeout(r, i));
        return i;
      });
      await clock.advance(i);
      await p;
    }
    expect(h.delayMs).toBe(9);
    const floor = hedge({ minSamples: 1, minDelayMs: 3, budget: false, clock });
    await floor(1, ctxFor(), async () => 1);
    expect(floor.delayMs).toBe(3);
  });

  describe('losers and endpoint health', () => {
    /** Two endpoints behind the real endpoint breaker and outlier detector, as the client builds them. */
    function setup(
      clock: ReturnType<typeof fakeClock>,
      slowHandler: Service,
      fastHandler: Service = async () => 'fast answer',
    ) {
      const detector = outlierDetection({ consecutiveFailures: 3, clock });
      const breaker = endpointBreaker({ minimumCalls: 3, window: { size: 3 }, clock });
      const ejections: string[] = [];
      detector.onEject((e) => ejections.push(e.instance));
      const breaks: string[] = [];
      breaker.onBreak((e) => breaks.push(e.instance!));
      const filters = [breaker, detector.filter];
      const slow = fakeEndpoint('slow', slowHandler, filters);
      const fast = fakeEndpoint('fast', fastHandler, filters);
      const cluster = pickAndCall(fakeDirectory([slow, fast]));
      return { slow, fast, cluster, detector, ejections, breaks };
    }

    it('a loser that outlived the hedge delay counts against its instance: a hung one is ejected', async () => {
      const clock = fakeClock();
      const reasons: unknown[] = [];
      const { cluster, detector, ejections, breaks } = setup(clock, (req, ctx) => {
        ctx.signal.addEventListener('abort', () => reasons.push(ctx.signal.reason));
        return hangs(req, ctx);
      });
      const h = hedge({ initialDelayMs: 20, budget: false, clock });
      for (let i = 0; i < 3; i++) {
        const p = h(i, ctxFor(), cluster);
        await clock.advance(20);
        expect(await p).toBe('fast answer');
      }
      expect(reasons).toHaveLength(3);
      for (const r of reasons) {
        expect(r).toMatchObject({ code: 'CANCELLED' });
        expect(isAbandonedAsSlow(r)).toBe(true);
      }
      expect(ejections).toEqual(['slow']);
      expect(breaks).toEqual(['slow']);
      detector.dispose();
    });

    it('a backup that loses to a primary answering just after it left is not charged', async () => {
      const clock = fakeClock();
      const answers: ReturnType<typeof deferred<string>>[] = [];
      const detector = outlierDetection({ consecutiveFailures: 1, clock });
      const ejections: string[] = [];
      detector.onEject((e) => ejections.push(e.instance));
      const reasons: unknown[] = [];
      const service = fakeEndpoint(
        'one',
        (_req, ctx) => {
          const d = deferred<string>();
          answers.push(d);
          ctx.signal.addEventListener('abort', () => {
            reasons.push(ctx.signal.reason);
            d.reject(ctx.signal.reason);
          });
          return d.promise;
        },
        [detector.filter],
      );
      const p = hedge({ initialDelayMs: 20, budget: false, clock })(1, ctxFor(), service.call);
      await clock.advance(25);
      expect(answers).toHaveLength(2);
      answers[0]!.resolve('primary');
      expect(await p).toBe('primary');
      expect(reasons).toHaveLength(1);
      expect(isAbandonedAsSlow(reasons[0])).toBe(false);
      expect(ejections).toEqual([]);
      detector.dispose();
    });

    it('a caller cancelling a hedged call charges no instance', async () => {
      const clock = fakeClock();
      const { cluster, slow, fast, detector, ejections, breaks } = setup(clock, hangs, hangs);
      const h = hedge({ initialDelayMs: 20, budget: false, clock });
      for (let i = 0; i < 3; i++) {
        const caller = new AbortController();
        // Both attempts reach an instance through the endpoint filters and hang there.
        const p = h(i, ctxFor({ signal: caller.signal }), cluster);
        await clock.advance(30);
        caller.abort();
        await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
      }
      expect([slow.calls, fast.calls]).toEqual([3, 3]);
      expect(ejections).toEqual([]);
      expect(breaks).toEqual([]);
      detector.dispose();
    });
  });
});
