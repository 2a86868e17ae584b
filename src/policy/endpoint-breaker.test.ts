import { describe, expect, it } from 'vitest';
import { RpcError } from '../core/errors.js';
import type { Service } from '../core/service.js';
import type { BreakEvent } from './breaker.js';
import { endpointBreaker } from './endpoint-breaker.js';
import { ctxFor, fakeClock, fakeEndpoint, hangs } from './testing.js';

const ok: Service = async () => 'ok';
const down: Service = async () => {
  throw new RpcError('UNAVAILABLE', 'down');
};

describe('endpointBreaker', () => {
  it('ejects the endpoint while open and re-admits it for probing when the wait ends', async () => {
    const clock = fakeClock();
    const factory = endpointBreaker({
      window: { size: 3 },
      minimumCalls: 3,
      openMs: 500,
      halfOpenCalls: 1,
      clock,
    });
    const seen: (string | undefined)[] = [];
    factory.onBreak((e) => seen.push(e.instance));
    let healthy = false;
    const ep = fakeEndpoint('a', async () => {
      if (!healthy) throw new RpcError('INTERNAL', 'boom');
      return 'ok';
    }, [factory]);
    for (let i = 0; i < 3; i++) await ep.call(i, ctxFor()).catch(() => {});
    expect(ep.status).toBe('ejected');
    expect(seen).toEqual(['a']);
    const refused = await ep.call(0, ctxFor()).catch((e: RpcError) => e);
    expect(refused).toMatchObject({ code: 'UNAVAILABLE', instance: 'a', mayHaveProcessed: false });
    expect(ep.calls).toBe(3);
    await clock.advance(500);
    expect(ep.status).toBe('open');
    healthy = true;
    expect(await ep.call(0, ctxFor())).toBe('ok');
    expect(ep.status).toBe('open');
  });

  it('leaves a status set by the connection alone when it recovers', async () => {
    const clock = fakeClock();
    const factory = endpointBreaker({ window: { size: 1 }, minimumCalls: 1, openMs: 10, clock });
    const ep = fakeEndpoint('b', down, [factory]);
    await ep.call(0, ctxFor()).catch(() => {});
    expect(ep.status).toBe('ejected');
    ep.status = 'draining';
    await clock.advance(10);
    expect(ep.status).toBe('draining');
  });
  it('ejects a half-open endpoint while all its probes are out, and re-trips if they hang', async () => {
    const clock = fakeClock();
    const factory = endpointBreaker({
      window: { size: 1 },
      minimumCalls: 1,
      halfOpenCalls: 2,
      openMs: 100,
      clock,
    });
    const breaks: BreakEvent[] = [];
    factory.onBreak((e) => breaks.push(e));
    let handler: Service = down;
    const ep = fakeEndpoint('h', (req, ctx) => handler(req, ctx), [factory]);
    await ep.call(0, ctxFor()).catch(() => {});
    await clock.advance(100);
    expect(ep.status).toBe('open');
    handler = hangs;
    const caller = new AbortController();
    void ep.call(0, ctxFor({ signal: caller.signal })).catch(() => {});
    expect(ep.status).toBe('open'); // one probe slot left
    void ep.call(1, ctxFor()).catch(() => {});
    expect(ep.status).toBe('ejected'); // a pick now could only fail fast
    caller.abort(new RpcError('CANCELLED', 'caller gave up')); // a cancelled probe frees its slot
    await clock.flush();
    expect(ep.status).toBe('open');
    void ep.call(2, ctxFor()).catch(() => {});
    expect(ep.status).toBe('ejected');
    await clock.advance(100); // the probes outlived the open wait
    expect(breaks.map((e) => e.openMs)).toEqual([100, 200]);
    expect(ep.status).toBe('ejected');
    handler = ok;
    await clock.advance(200);
    expect(ep.status).toBe('open');
    await ep.call(3, ctxFor());
    await ep.call(4, ctxFor());
    expect(ep.status).toBe('open');
    await clock.advance(1000);
    expect(clock.pending).toBe(0);
  });

  it('re-arms the wake for hung probes even when the open-wait timer is still pending', async () => {
    const base = fakeClock();
    // Node timers fire a little late: the open-wait timer is still pending when a call
    // (panic mode) half-opens the breaker and takes the only probe slot.
    const clock = { ...base, setTimeout: (fn: () => void, ms: number) => base.setTimeout(fn, ms + 2) };
    const factory = endpointBreaker({
      window: { size: 1 },
      minimumCalls: 1,
      openMs: 1000,
      halfOpenCalls: 1,
      clock,
    });
    let handler: Service = down;
    const ep = fakeEndpoint('late', (req, ctx) => handler(req, ctx), [factory]);
    await ep.call(0, ctxFor()).catch(() => {});
    handler = hangs;
    await base.advance(1000); // the wait is over; its timer, 2 ms late, has not fired
    void ep.call(1, ctxFor()).catch(() => {});
    expect(ep.status).toBe('ejected');
    await base.advance(10); // the stale wait timer fires with nothing to do
    await base.advance(1000 + 2000 + 10); // probe deadline re-trips, the doubled wait ends
    expect(ep.status).toBe('open');
  });

  it('dispose cancels the wake timers, and later trips arm none', async () => {
    const clock = fakeClock();
    const factory = endpointBreaker({ window: { size: 1 }, minimumCalls: 1, openMs: 100, clock });
    const a = fakeEndpoint('a', down, [factory]);
    const b = fakeEndpoint('b', down, [factory]);
    await a.call(0, ctxFor()).catch(() => {});
    expect(clock.pending).toBe(1);
    factory.dispose();
    expect(clock.pending).toBe(0);
    await b.call(0, ctxFor()).catch(() => {});
    expect(b.status).toBe('ejected');
    expect(clock.pending).toBe(0);
  });
});
