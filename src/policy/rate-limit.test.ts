import { describe, expect, it } from 'vitest';
import type { RpcError } from '../core/errors.js';
import type { Service } from '../core/service.js';
import { rateLimit } from './rate-limit.js';
import { ctxFor, fakeClock } from './testing.js';

const ok: Service = async (req) => req;

describe('rateLimit', () => {
  it('allows a burst, then the sustained rate, rejecting the excess as not processed', async () => {
    const clock = fakeClock();
    const r = rateLimit({ rate: 10, burst: 3, clock });
    const shed: string[] = [];
    r.onShed((e) => shed.push(e.reason));
    for (let i = 0; i < 3; i++) expect(await r(i, ctxFor(), ok)).toBe(i);
    const err = await r(3, ctxFor(), ok).catch((e: RpcError) => e);
    expect(err).toMatchObject({ code: 'RESOURCE_EXHAUSTED', mayHaveProcessed: false });
    await clock.advance(100);
    expect(await r(4, ctxFor(), ok)).toBe(4);
    await expect(r(5, ctxFor(), ok)).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
    await clock.advance(10_000);
    let passed = 0;
    for (let i = 0; i < 10; i++)
      await r(i, ctxFor(), ok).then(
        () => passed++,
        () => {},
      );
    expect(passed).toBe(3); // the bucket never holds more than the burst
    expect(shed.every((s) => s === 'rate')).toBe(true);
  });

  it('waits in arrival order up to maxWaitMs', async () => {
    const clock = fakeClock();
    const r = rateLimit({ rate: 10, burst: 1, maxWaitMs: 250, clock });
    const done: number[] = [];
    const calls = [0, 1, 2, 3].map((i) =>
      r(i, ctxFor(), ok).then(
        (v) => done.push(v as number),
        () => done.push(-i),
      ),
    );
    await clock.advance(0);
    expect(done.sort()).toEqual([-3, 0]); // 3 would need 300 ms
    await clock.advance(99);
    expect(done).toHaveLength(2);
    await clock.advance(1);
    expect(done.at(-1)).toBe(1);
    await clock.advance(100);
    await Promise.all(calls);
    expect(done.at(-1)).toBe(2);
  });

  it('does not wait past the deadline, and refunds a cancelled waiter', async () => {
    const clock = fakeClock();
    const r = rateLimit({ rate: 10, burst: 1, maxWaitMs: 1000, clock });
    await r(0, ctxFor(), ok);
    await expect(r(1, ctxFor({ deadline: clock.now() + 50 }), ok)).rejects.toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
    });
    const caller = new AbortController();
    const waiting = r(2, ctxFor({ signal: caller.signal }), ok).catch((e: RpcError) => e.code);
    caller.abort();
    expect(await waiting).toBe('CANCELLED');
    await clock.advance(100);
    expect(await r(3, ctxFor(), ok)).toBe(3); // the refunded token is there
  });
});
