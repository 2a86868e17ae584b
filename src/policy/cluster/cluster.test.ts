import { describe, expect, it } from 'vitest';
import type { CallContext } from '../../core/context.js';
import { RpcError } from '../../core/errors.js';
import type { Service } from '../../core/service.js';
import { constantBackoff } from '../backoff.js';
import { ctxFor, fakeClock, fakeDirectory, fakeEndpoint, hangs } from '../testing.js';
import { broadcast } from './broadcast.js';
import { type FailbackEvent, failback } from './failback.js';
import { failover } from './failover.js';
import { failsafe } from './failsafe.js';
import { forking } from './forking.js';
import { failfast, pickAndCall } from './pick.js';

const ok =
  (answer: string): Service =>
  async () =>
    answer;
const down =
  (mayHaveProcessed = true): Service =>
  async () => {
    throw new RpcError('UNAVAILABLE', 'down', { mayHaveProcessed });
  };

describe('pickAndCall / failfast', () => {
  it('calls the picked endpoint once and names the instance on its errors', async () => {
    const a = fakeEndpoint('a', down());
    const call = failfast(fakeDirectory([a]));
    const err = await call(1, ctxFor()).catch((e: RpcError) => e);
    expect(err).toMatchObject({ code: 'UNAVAILABLE', instance: 'a' });
    expect(a.calls).toBe(1);
  });

  it('fails with UNAVAILABLE, not processed, when there is nothing to pick', async () => {
    const a = fakeEndpoint('a', ok('x'));
    a.status = 'ejected';
    const err = await pickAndCall(fakeDirectory([a]))(1, ctxFor()).catch((e: RpcError) => e);
    expect(err).toMatchObject({ code: 'UNAVAILABLE', mayHaveProcessed: false });
    expect(a.calls).toBe(0);
  });
});

describe('failover', () => {
  it('moves on to another endpoint, avoiding those tried, up to the retries', async () => {
    const seen: CallContext[] = [];
    const track =
      (s: Service): Service =>
      (r, c) => {
        seen.push(c);
        return s(r, c);
      };
    const eps = [
      fakeEndpoint('a', track(down())),
      fakeEndpoint('b', track(down())),
      fakeEndpoint('c', track(ok('c'))),
    ];
    expect(await failover()(fakeDirectory(eps))(1, ctxFor())).toBe('c');
    expect(seen.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect([...seen[2]!.avoid!]).toEqual(['a', 'b']);
    const none = [fakeEndpoint('a', down()), fakeEndpoint('b', down())];
    await expect(failover({ retries: 1 })(fakeDirectory(none))(1, ctxFor())).rejects.toMatchObject({
      instance: 'b',
    });
  });

  it('never fails over a non-idempotent call that may have run, but does when it provably did not', async () => {
    const maybe = [fakeEndpoint('a', down(true)), fakeEndpoint('b', ok('b'))];
    await expect(failover()(fakeDirectory(maybe))(1, ctxFor({ idempotent: false }))).rejects.toMatchObject({
      instance: 'a',
    });
    expect(maybe[1]!.calls).toBe(0);
    const refused = [fakeEndpoint('a', down(false)), fakeEndpoint('b', ok('b'))];
    expect(await failover()(fakeDirectory(refused))(1, ctxFor({ idempotent: false }))).toBe('b');
  });

  it('stops at the deadline', async () => {
    const clock = fakeClock();
    const eps = [fakeEndpoint('a', down()), fakeEndpoint('b', ok('b'))];
    const call = failover({ clock })(fakeDirectory(eps));
    await expect(call(1, ctxFor({ deadline: clock.now() }))).rejects.toMatchObject({ instance: 'a' });
  });
});

describe('failsafe', () => {
  it('returns the default and reports the swallowed error', async () => {
    const f = failsafe({ value: 'nothing' });
    const seen: string[] = [];
    f.onSwallow((e) => seen.push(`${e.error.code}@${e.error.instance}`));
    expect(await f(fakeDirectory([fakeEndpoint('a', down())]))(1, ctxFor())).toBe('nothing');
    expect(seen).toEqual(['UNAVAILABLE@a']);
  });
});

describe('failback', () => {
  it('returns the default at once and retries in the background until it succeeds', async () => {
    const clock = fakeClock();
    let healthy = false;
    const a = fakeEndpoint('a', async () => {
      if (!healthy) throw new RpcError('UNAVAILABLE', 'down');
      return 'done';
    });
    const f = failback({ value: 'later', backoff: constantBackoff(100), clock });
    const events: FailbackEvent[] = [];
    f.onFailback((e) => events.push(e));
    expect(await f(fakeDirectory([a]))(1, ctxFor())).toBe('later');
    expect(f.pending).toBe(1);
    await clock.advance(100);
    expect(a.calls).toBe(2);
    healthy = true;
    await clock.advance(100);
    expect(f.pending).toBe(0);
    expect(events.map((e) => e.outcome)).toEqual(['queued', 'recovered']);
  });

  it('bounds the queue and the attempts, and never queues an unsafe call', async () => {
    const clock = fakeClock();
    const f = failback({ maxQueue: 2, maxRetries: 2, backoff: constantBackoff(10), clock });
    const events: FailbackEvent[] = [];
    f.onFailback((e) => events.push(e));
    const a = fakeEndpoint('a', down());
    const call = f(fakeDirectory([a]));
    for (let i = 0; i < 3; i++) await call(i, ctxFor());
    await call(9, ctxFor({ idempotent: false }));
    expect(events.map((e) => e.reason ?? e.outcome)).toEqual(['queued', 'queued', 'queue-full', 'unsafe']);
    await clock.advance(100);
    expect(f.pending).toBe(0);
    expect(events.filter((e) => e.reason === 'attempts')).toHaveLength(2);
    expect(a.calls).toBe(4 + 2 * 2);
  });

  it('never queues a call its caller cancelled, even one that never ran', async () => {
    const clock = fakeClock();
    const f = failback({ backoff: constantBackoff(100), clock });
    const events: FailbackEvent[] = [];
    f.onFailback((e) => events.push(e));
    // Like the connection: a call aborted before it was written was never processed.
    const a = fakeEndpoint('a', async (_r, c) => {
      if (c.signal.aborted) throw new RpcError('CANCELLED', 'cancelled', { mayHaveProcessed: false });
      return 'charged';
    });
    const ac = new AbortController();
    ac.abort();
    await f(fakeDirectory([a]))(42, ctxFor({ idempotent: false, signal: ac.signal }));
    await clock.advance(1_000);
    expect(a.calls).toBe(1);
    expect(events.map((e) => e.reason)).toEqual(['cancelled']);
  });

  it('does not retry an answer another attempt would not change', async () => {
    const clock = fakeClock();
    const f = failback({ backoff: constantBackoff(100), clock });
    const events: FailbackEvent[] = [];
    f.onFailback((e) => events.push(e));
    const a = fakeEndpoint('a', async () => {
      throw new RpcError('INVALID_ARGUMENT', 'bad input');
    });
    await f(fakeDirectory([a]))(1, ctxFor());
    await clock.advance(1_000);
    expect(a.calls).toBe(1);
    expect(events.map((e) => e.reason)).toEqual(['not-retryable']);
  });

  it('dispose cancels the queued retries and their timers', async () => {
    const clock = fakeClock();
    const f = failback({ backoff: constantBackoff(100), clock });
    const events: FailbackEvent[] = [];
    f.onFailback((e) => events.push(e));
    const a = fakeEndpoint('a', down());
    const call = f(fakeDirectory([a]));
    await call(1, ctxFor());
    expect(clock.pending).toBe(1);
    f.dispose();
    expect(clock.pending).toBe(0);
    expect(f.pending).toBe(0);
    await call(2, ctxFor());
    await clock.advance(1_000);
    expect(a.calls).toBe(2);
    expect(events.map((e) => e.reason ?? e.outcome)).toEqual(['queued', 'disposed', 'disposed']);
  });
});

describe('forking', () => {
  it('calls distinct endpoints at once; the first success wins and the rest are cancelled', async () => {
    const signals: AbortSignal[] = [];
    const slow = fakeEndpoint('slow', (r, c) => {
      signals.push(c.signal);
      return hangs(r, c);
    });
    const fast = fakeEndpoint('fast', async (_r, c) => {
      signals.push(c.signal);
      return 'fast';
    });
    const third = fakeEndpoint('third', ok('third'));
    const call = forking({ forks: 2 })(fakeDirectory([slow, fast, third]));
    expect(await call(1, ctxFor())).toBe('fast');
    expect([slow.calls, fast.calls, third.calls]).toEqual([1, 1, 0]);
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[1]!.aborted).toBe(false);
  });

  it('fails only when every fork failed, and sends a non-idempotent call once', async () => {
    const eps = [fakeEndpoint('a', down()), fakeEndpoint('b', down())];
    await expect(forking()(fakeDirectory(eps))(1, ctxFor())).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(eps.map((e) => e.calls)).toEqual([1, 1]);
    const once = [fakeEndpoint('a', ok('a')), fakeEndpoint('b', ok('b'))];
    await forking({ forks: 2 })(fakeDirectory(once))(1, ctxFor({ idempotent: false }));
    expect(once[0]!.calls + once[1]!.calls).toBe(1);
  });

  it('fails with UNAVAILABLE, not processed, when nothing is routable', async () => {
    const a = fakeEndpoint('a', ok('a'));
    a.status = 'ejected';
    // With zero forks nothing would ever answer: check it settled, rather than await a hang.
    let err: unknown;
    forking()(fakeDirectory([a]))(1, ctxFor()).catch((e: unknown) => {
      err = e;
    });
    await fakeClock().flush();
    expect(err).toMatchObject({ code: 'UNAVAILABLE', mayHaveProcessed: false });
    expect(a.calls).toBe(0);
  });
});

describe('broadcast', () => {
  it('calls every routable endpoint and returns the reduced replies', async () => {
    const eps = [fakeEndpoint('a', ok('a')), fakeEndpoint('b', ok('b')), fakeEndpoint('c', ok('c'))];
    eps[2]!.status = 'ejected';
    expect(await broadcast()(fakeDirectory(eps))(1, ctxFor())).toBe('b');
    const all = broadcast({ reduce: (r) => r.join(',') });
    expect(await all(fakeDirectory(eps))(1, ctxFor())).toBe('a,b');
    expect(eps.map((e) => e.calls)).toEqual([2, 2, 0]);
  });

  it('fails if any endpoint fails, after all have answered', async () => {
    const eps = [fakeEndpoint('a', down()), fakeEndpoint('b', ok('b'))];
    await expect(broadcast()(fakeDirectory(eps))(1, ctxFor())).rejects.toMatchObject({ instance: 'a' });
    expect(eps[1]!.calls).toBe(1);
    await expect(broadcast()(fakeDirectory([]))(1, ctxFor())).rejects.toMatchObject({
      mayHaveProcessed: false,
    });
  });
});
