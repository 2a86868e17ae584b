import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { type CallContext, NEVER_ABORTED } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import type { Service } from '../core/service.js';
import { constantBackoff } from './backoff.js';
import { retryBudget } from './budget.js';
import { rejection } from './classify.js';
import { type GiveUpEvent, type RetryEvent, retry } from './retry.js';
import { ctxFor, fakeClock } from './testing.js';

const unavailable = (instance: string, mayHaveProcessed = true) => {
  const e = new RpcError('UNAVAILABLE', 'down', { mayHaveProcessed });
  e.instance = instance;
  return e;
};

/** A service failing with the queued errors, then answering; records each attempt's context. */
function script(errors: unknown[]) {
  const seen: CallContext[] = [];
  const service: Service = async (_req, ctx) => {
    seen.push(ctx);
    const e = errors.shift();
    if (e) throw e;
    return 'ok';
  };
  return { service, seen };
}

describe('retry', () => {
  it('retries idempotent calls on another instance, raising attempt and growing avoid', async () => {
    const clock = fakeClock();
    const { service, seen } = script([unavailable('a'), unavailable('b')]);
    const r = retry({ backoff: constantBackoff(0), clock });
    const events: RetryEvent[] = [];
    r.onRetry((e) => events.push(e));
    expect(await r(1, ctxFor(), service)).toBe('ok');
    expect(seen.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect([...(seen[2]!.avoid ?? [])]).toEqual(['a', 'b']);
    expect(events.map((e) => e.attempt)).toEqual([2, 3]);
  });

  it('never retries a non-idempotent call that may have been processed', async () => {
    const { service, seen } = script([unavailable('a', true)]);
    const r = retry({ backoff: constantBackoff(0) });
    await expect(r(1, ctxFor({ idempotent: false }), service)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(seen).toHaveLength(1);
  });

  it('retries a non-idempotent call when the error proves no handler ran', async () => {
    const { service, seen } = script([unavailable('a', false)]);
    const r = retry({ backoff: constantBackoff(0) });
    expect(await r(1, ctxFor({ idempotent: false }), service)).toBe('ok');
    expect(seen).toHaveLength(2);
  });

  it('does not retry answers, local rejections or foreign exceptions', async () => {
    for (const err of [
      new RpcError('INVALID_ARGUMENT', 'bad'),
      rejection('RESOURCE_EXHAUSTED', 'bulkhead', 'full'),
      new TypeError('bug'),
    ]) {
      const { service, seen } = script([err]);
      await expect(retry({ backoff: constantBackoff(0) })(1, ctxFor(), service)).rejects.toBe(err);
      expect(seen).toHaveLength(1);
    }
  });

  it('stops at maxAttempts and reports why it gave up', async () => {
    const { service, seen } = script([
      unavailable('a'),
      unavailable('b'),
      unavailable('c'),
      unavailable('d'),
    ]);
    const r = retry({ maxAttempts: 3, backoff: constantBackoff(0) });
    const gave: GiveUpEvent[] = [];
    r.onGiveUp((e) => gave.push(e));
    await expect(r(1, ctxFor(), service)).rejects.toMatchObject({ instance: 'c' });
    expect(seen).toHaveLength(3);
    expect(gave).toMatchObject([{ reason: 'attempts', attempts: 3 }]);
  });

  it('stops retrying when the budget is spent', async () => {
    const clock = fakeClock();
    const budget = retryBudget({ percent: 0, minPerSecond: 0.2, windowMs: 10_000, clock }); // 2 retries
    const r = retry({ maxAttempts: 5, backoff: constantBackoff(0), budget, clock });
    const reasons: string[] = [];
    r.onGiveUp((e) => reasons.push(e.reason));
    let calls = 0;
    const alwaysDown: Service = async () => {
      calls++;
      throw unavailable(`i${calls}`);
    };
    await expect(r(1, ctxFor(), alwaysDown)).rejects.toBeInstanceOf(RpcError);
    expect(calls).toBe(3);
    await expect(r(1, ctxFor(), alwaysDown)).rejects.toBeInstanceOf(RpcError);
    expect(calls).toBe(4);
    expect(reasons).toEqual(['budget', 'budget']);
  });

  it('sleeps the backoff on the clock and never past the deadline', async () => {
    const clock = fakeClock();
    const { service, seen } = script([unavailable('a'), unavailable('b')]);
    const r = retry({ backoff: constantBackoff(40), clock, budget: false });
    const reasons: string[] = [];
    r.onGiveUp((e) => reasons.push(e.reason));
    const p = r(1, ctxFor({ deadline: clock.now() + 60 }), service).catch((e: RpcError) => e);
    await clock.advance(39);
    expect(seen).toHaveLength(1);
    await clock.advance(1);
    expect(seen).toHaveLength(2);
    // The next retry would start at t=80 > deadline 60: give up with the real error.
    expect(await p).toMatchObject({ instance: 'b' });
    expect(reasons).toEqual(['deadline']);
  });

  it('a cancelled call stops sleeping at once', async () => {
    const clock = fakeClock();
    const caller = new AbortController();
    const { service, seen } = script([unavailable('a')]);
    const p = retry({ backoff: constantBackoff(1000), clock })(1, ctxFor({ signal: caller.signal }), service);
    const outcome = p.catch((e: RpcError) => e);
    await clock.flush();
    caller.abort();
    expect(await outcome).toMatchObject({ instance: 'a' });
    expect(seen).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it('takes the budget token after the backoff, so a call cancelled while sleeping spends none', async () => {
    const clock = fakeClock();
    const budget = retryBudget({ percent: 0, minPerSecond: 0.1, windowMs: 10_000, clock }); // 1 retry
    const r = retry({ backoff: constantBackoff(1000), budget, clock });
    const caller = new AbortController();
    const cancelled = r(1, ctxFor({ signal: caller.signal }), script([unavailable('a')]).service);
    const outcome = cancelled.catch((e: RpcError) => e);
    await clock.advance(500);
    caller.abort();
    expect(await outcome).toMatchObject({ instance: 'a' });
    expect(budget.balance()).toBe(1);
    const { service, seen } = script([unavailable('b')]);
    const p = r(2, ctxFor(), service);
    await clock.advance(1000);
    expect(await p).toBe('ok');
    expect(seen).toHaveLength(2);
    expect(budget.balance()).toBe(0);
  });

  it('calls without a signal leave no listener behind on the shared never-aborted signal', async () => {
    const clock = fakeClock();
    const r = retry({ backoff: constantBackoff(5), clock, budget: false });
    const calls = Array.from({ length: 20 }, () => {
      const { service } = script([unavailable('a')]);
      return r(1, ctxFor({ signal: NEVER_ABORTED }), service);
    });
    await clock.flush();
    expect(getEventListeners(NEVER_ABORTED, 'abort')).toHaveLength(0);
    await clock.advance(5);
    expect(await Promise.all(calls)).toEqual(Array(20).fill('ok'));
  });
});
