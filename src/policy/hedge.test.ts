import { describe, expect, it } from 'vitest';
import type { CallContext } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import type { Service } from '../core/service.js';
import { retryBudget } from './budget.js';
import { pickAndCall } from './cluster/pick.js';
import { type HedgeEvent, hedge } from './hedge.js';
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
});
