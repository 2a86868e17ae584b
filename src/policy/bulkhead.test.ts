import { describe, expect, it } from 'vitest';
import type { RpcError } from '../core/errors.js';
import type { Service } from '../core/service.js';
import { bulkhead } from './bulkhead.js';
import { ctxFor, deferred, fakeClock, nodeLikeClock } from './testing.js';

function gated() {
  const gates: ReturnType<typeof deferred<string>>[] = [];
  const started: unknown[] = [];
  const service: Service = (req) => {
    started.push(req);
    const d = deferred<string>();
    gates.push(d);
    return d.promise;
  };
  return { service, gates, started };
}

describe('bulkhead', () => {
  it('runs maxConcurrent, queues maxQueue in order, rejects the rest as not processed', async () => {
    const b = bulkhead({ maxConcurrent: 2, maxQueue: 1 });
    const { service, gates, started } = gated();
    const shed: string[] = [];
    b.onShed((e) => shed.push(e.reason));
    const calls = [1, 2, 3].map((i) => b(i, ctxFor(), service));
    const refused = await b(4, ctxFor(), service).catch((e: RpcError) => e);
    expect(refused).toMatchObject({ code: 'RESOURCE_EXHAUSTED', mayHaveProcessed: false });
    expect(shed).toEqual(['full']);
    expect([b.active, b.queued]).toEqual([2, 1]);
    expect(started).toEqual([1, 2]);
    gates[0]!.resolve('a');
    await calls[0];
    await Promise.resolve();
    expect(started).toEqual([1, 2, 3]);
    // A newcomer now finds the queue empty but no free slot.
    const five = b(5, ctxFor(), service);
    expect(b.queued).toBe(1);
    gates[1]!.resolve('b');
    gates[2]!.resolve('c');
    await Promise.all(calls);
    gates[3]!.resolve('d');
    expect(await five).toBe('d');
    expect([b.active, b.queued]).toEqual([0, 0]);
  });

  it('frees the queue slot of a waiter whose call is cancelled', async () => {
    const b = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const { service, gates, started } = gated();
    const first = b(1, ctxFor(), service);
    const caller = new AbortController();
    const waiting = b(2, ctxFor({ signal: caller.signal }), service).catch((e: RpcError) => e);
    caller.abort();
    expect(await waiting).toMatchObject({ code: 'CANCELLED' });
    expect(b.queued).toBe(0);
    const third = b(3, ctxFor(), service); // takes the freed queue slot
    gates[0]!.resolve('a');
    await first;
    await Promise.resolve();
    expect(started).toEqual([1, 3]);
    gates[1]!.resolve('c');
    expect(await third).toBe('c');
  });

  it('unlinks waiters that leave, so cancelled ones do not pile up while every slot is held', async () => {
    const clock = fakeClock();
    const b = bulkhead({ maxConcurrent: 1, maxQueue: 1, clock });
    const linked = () => (b as unknown as { linked: number }).linked;
    const { service, gates, started } = gated();
    const first = b(0, ctxFor(), service); // holds the only slot throughout
    for (let i = 1; i <= 200; i++) {
      const caller = new AbortController();
      const ctx = ctxFor({ signal: caller.signal, deadline: clock.now() + 10 });
      const waiting = b(i, ctx, service).catch(() => {});
      if (i % 2) caller.abort();
      else await clock.advance(10); // leaves on its deadline instead
      await waiting;
    }
    expect([b.queued, linked()]).toEqual([0, 0]);
    gates[0]!.resolve('a');
    await first;
    expect([b.active, started]).toEqual([0, [0]]);
  });

  it('a waiter leaving from the middle keeps the others in order', async () => {
    const b = bulkhead({ maxConcurrent: 1, maxQueue: 3 });
    const linked = () => (b as unknown as { linked: number }).linked;
    const { service, gates, started } = gated();
    const first = b(1, ctxFor(), service);
    const caller = new AbortController();
    const two = b(2, ctxFor(), service);
    const three = b(3, ctxFor({ signal: caller.signal }), service).catch((e: RpcError) => e.code);
    const four = b(4, ctxFor(), service);
    caller.abort();
    expect(await three).toBe('CANCELLED');
    expect([b.queued, linked()]).toEqual([2, 2]);
    gates[0]!.resolve('a');
    await first;
    await Promise.resolve();
    gates[1]!.resolve('b');
    await two;
    await Promise.resolve();
    gates[2]!.resolve('d');
    expect(await four).toBe('d');
    expect(started).toEqual([1, 2, 4]);
    expect([b.active, b.queued, linked()]).toEqual([0, 0, 0]);
  });

  it('a waiter whose deadline passes leaves the queue with DEADLINE_EXCEEDED', async () => {
    const clock = fakeClock();
    const b = bulkhead({ maxConcurrent: 1, maxQueue: 4, clock });
    const { service, gates } = gated();
    const first = b(1, ctxFor(), service);
    const late = b(2, ctxFor({ deadline: clock.now() + 50 }), service).catch((e: RpcError) => e);
    await clock.advance(50);
    expect(await late).toMatchObject({ code: 'DEADLINE_EXCEEDED', mayHaveProcessed: false });
    expect(b.queued).toBe(0);
    gates[0]!.resolve('a');
    await first;
    expect(b.active).toBe(0);
  });

  it('a queued waiter with a 30-day deadline (past the timer limit) keeps waiting', async () => {
    const clock = nodeLikeClock();
    const b = bulkhead({ maxConcurrent: 1, maxQueue: 1, clock });
    const { service, gates, started } = gated();
    const first = b(1, ctxFor(), service);
    const second = b(2, ctxFor({ deadline: clock.now() + 30 * 86_400_000 }), service);
    await clock.advance(60_000);
    expect(b.queued).toBe(1);
    gates[0]!.resolve('a');
    await first;
    await clock.flush();
    expect(started).toEqual([1, 2]);
    gates[1]!.resolve('b');
    expect(await second).toBe('b');
  });

  it('releases the slot when the call fails', async () => {
    const b = bulkhead({ maxConcurrent: 1 });
    await expect(b(1, ctxFor(), async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(await b(2, ctxFor(), async () => 'ok')).toBe('ok');
    expect(b.active).toBe(0);
  });
});
