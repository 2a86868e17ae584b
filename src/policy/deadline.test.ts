import { describe, expect, it } from 'vitest';
import { RpcError } from '../core/errors.js';
import type { Service } from '../core/service.js';
import { attemptTimeout, timeout } from './deadline.js';
import { ctxFor, deferred, fakeClock, hangs, nodeLikeClock } from './testing.js';

describe('timeout', () => {
  it('tightens the deadline (earliest wins) and aborts the inner signal when it passes', async () => {
    const clock = fakeClock();
    let seen: AbortSignal | undefined;
    let seenDeadline = 0;
    const inner: Service = (req, ctx) => {
      seen = ctx.signal;
      seenDeadline = ctx.deadline;
      return hangs(req, ctx);
    };
    const call = timeout({ totalMs: 100, abortSignal: true, clock })(
      1,
      ctxFor({ deadline: clock.now() + 500 }),
      inner,
    );
    const outcome = call.catch((e: unknown) => e);
    await clock.advance(99);
    expect(seen?.aborted).toBe(false);
    expect(seenDeadline).toBe(clock.now() + 1);
    await clock.advance(1);
    const err = await outcome;
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).code).toBe('DEADLINE_EXCEEDED');
    expect(seen?.aborted).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('without abortSignal, rejects at the deadline and leaves the caller signal in place', async () => {
    const clock = fakeClock();
    const caller = new AbortController();
    let seen: AbortSignal | undefined;
    const p = timeout({ totalMs: 10, clock })(1, ctxFor({ signal: caller.signal }), (_r, c) => {
      seen = c.signal;
      return new Promise(() => {});
    });
    const outcome = p.catch((e: RpcError) => e);
    await clock.advance(10);
    expect(await outcome).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(seen).toBe(caller.signal);
  });

  it('keeps an earlier caller deadline', async () => {
    const clock = fakeClock();
    let seenDeadline = 0;
    const ctx = ctxFor({ deadline: clock.now() + 20 });
    await timeout({ totalMs: 1000, clock })(1, ctx, async (_r, c) => {
      seenDeadline = c.deadline;
      return 'ok';
    });
    expect(seenDeadline).toBe(ctx.deadline);
  });

  it('rejects an expired deadline before calling, as not processed', async () => {
    const clock = fakeClock();
    let called = false;
    const err = await timeout({ clock })(1, ctxFor({ deadline: clock.now() }), async () => {
      called = true;
    }).catch((e: RpcError) => e);
    expect(called).toBe(false);
    expect(err).toMatchObject({ code: 'DEADLINE_EXCEEDED', mayHaveProcessed: false });
  });

  it('passes through without a timer when there is no deadline, and clears its timer on success', async () => {
    const clock = fakeClock();
    const d = deferred<string>();
    const p = timeout({ clock })(1, ctxFor(), () => d.promise);
    expect(clock.pending).toBe(0);
    d.resolve('x');
    expect(await p).toBe('x');
    const q = timeout({ totalMs: 50, clock })(1, ctxFor(), async () => 'y');
    expect(await q).toBe('y');
    expect(clock.pending).toBe(0);
  });

  it('a 30-day deadline (past the 2^31 − 1 ms timer limit) does not fire early', async () => {
    const clock = nodeLikeClock();
    const d = deferred<string>();
    let settled = false;
    const p = timeout({ clock })(1, ctxFor({ deadline: clock.now() + 30 * 86_400_000 }), () => d.promise);
    void p.finally(() => (settled = true)).catch(() => {});
    await clock.advance(60_000);
    expect(settled).toBe(false);
    d.resolve('late but in time');
    expect(await p).toBe('late but in time');
  });

  it('follows the caller signal: cancellation rejects at once', async () => {
    const clock = fakeClock();
    const caller = new AbortController();
    let inner: AbortSignal | undefined;
    const p = timeout({ totalMs: 1000, abortSignal: true, clock })(
      1,
      ctxFor({ signal: caller.signal }),
      (r, c) => {
        inner = c.signal;
        return hangs(r, c);
      },
    );
    caller.abort();
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(inner?.aborted).toBe(true);
  });
});

describe('attemptTimeout', () => {
  it('bounds one attempt without moving past the total deadline', async () => {
    const clock = fakeClock();
    let seenDeadline = 0;
    const filter = attemptTimeout(30, { clock });
    const p = filter(1, ctxFor({ deadline: clock.now() + 10 }), (r, c) => {
      seenDeadline = c.deadline;
      return hangs(r, c);
    });
    const outcome = p.catch((e: RpcError) => e);
    expect(seenDeadline).toBe(clock.now() + 10);
    await clock.advance(10);
    expect(await outcome).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('rejects bad settings', () => {
    expect(() => attemptTimeout(0)).toThrow(RangeError);
    expect(() => timeout({ totalMs: -1 })).toThrow(RangeError);
  });
});
