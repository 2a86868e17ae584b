import { describe, expect, it } from 'vitest';
import { RpcError } from '../core/errors.js';
import type { Service } from '../core/service.js';
import { type EjectEvent, outlierDetection } from './outlier.js';
import { ctxFor, fakeClock, fakeEndpoint } from './testing.js';

const ok: Service = async () => 'ok';
const down: Service = async () => {
  throw new RpcError('UNAVAILABLE', 'down');
};

/** `n` endpoints whose behaviour the test switches per id. */
function fleet(n: number, detector: ReturnType<typeof outlierDetection>) {
  const failing = new Set<string>();
  const endpoints = Array.from({ length: n }, (_, i) =>
    fakeEndpoint(`h${i}`, (req, ctx) => (failing.has(`h${i}`) ? down(req, ctx) : ok(req, ctx)), [
      detector.filter,
    ]),
  );
  return { endpoints, failing };
}

async function hit(endpoint: { call: Service }, times: number) {
  for (let i = 0; i < times; i++) await endpoint.call(i, ctxFor()).catch(() => {});
}

describe('outlierDetection', () => {
  it('ejects after consecutive failures, for base × times ejected, and re-admits when it expires', async () => {
    const clock = fakeClock();
    const d = outlierDetection({ consecutiveFailures: 3, intervalMs: 1000, baseEjectionMs: 2000, clock });
    const { endpoints, failing } = fleet(3, d);
    const events: EjectEvent[] = [];
    d.onEject((e) => events.push(e));
    const unejected: string[] = [];
    d.onUneject((e) => unejected.push(e.instance));
    failing.add('h0');
    await hit(endpoints[0]!, 2);
    expect(endpoints[0]!.status).toBe('open');
    await endpoints[0]!.call(0, ctxFor()).catch(() => {});
    expect(endpoints[0]!.status).toBe('ejected');
    expect(events).toMatchObject([{ instance: 'h0', reason: 'consecutive-failures', ejectionMs: 2000 }]);
    await clock.advance(1000);
    expect(endpoints[0]!.status).toBe('ejected');
    await clock.advance(1000);
    expect(endpoints[0]!.status).toBe('open');
    expect(unejected).toEqual(['h0']);
    // Still failing: the second ejection lasts twice as long.
    await hit(endpoints[0]!, 3);
    expect(events[1]).toMatchObject({ ejectionMs: 4000, timesEjected: 2 });
    d.dispose();
  });

  it('a success resets the consecutive count; answers like NOT_FOUND are not failures', async () => {
    const d = outlierDetection({ consecutiveFailures: 3, clock: fakeClock() });
    let mode: 'down' | 'ok' | 'nf' = 'down';
    const ep = fakeEndpoint('x', async () => {
      if (mode === 'down') throw new RpcError('UNAVAILABLE', 'down');
      if (mode === 'nf') throw new RpcError('NOT_FOUND', 'no');
      return 'ok';
    }, [d.filter]);
    fakeEndpoint('y', ok, [d.filter]);
    await hit(ep, 2);
    mode = 'ok';
    await hit(ep, 1);
    mode = 'down';
    await hit(ep, 2);
    mode = 'nf';
    await hit(ep, 10);
    expect(ep.status).toBe('open');
    d.dispose();
  });

  it('never ejects more than the max share of hosts, but at least one', async () => {
    const clock = fakeClock();
    const d = outlierDetection({ consecutiveFailures: 1, maxEjectedShare: 0.1, clock });
    const { endpoints, failing } = fleet(25, d);
    for (const e of endpoints) failing.add(e.instance.id);
    for (const e of endpoints) await hit(e, 2);
    expect(d.ejected()).toHaveLength(2);
    expect(endpoints.filter((e) => e.status === 'ejected')).toHaveLength(2);
    d.dispose();

    const small = outlierDetection({ consecutiveFailures: 1, clock });
    const three = fleet(3, small);
    for (const e of three.endpoints) three.failing.add(e.instance.id);
    for (const e of three.endpoints) await hit(e, 2);
    expect(small.ejected()).toHaveLength(1);
    small.dispose();
  });

  it('ejects success-rate outliers (mean − 1.9 σ) among hosts with enough volume', async () => {
    const clock = fakeClock();
    const d = outlierDetection({
      consecutiveFailures: 1000,
      requestVolume: 20,
      minimumHosts: 5,
      maxEjectedShare: 0.5,
      clock,
    });
    const rate = new Map<string, number>();
    const endpoints = Array.from({ length: 8 }, (_, i) => {
      let n = 0;
      const id = `h${i}`;
      rate.set(id, i === 7 ? 0.5 : 0.95);
      return fakeEndpoint(id, async () => {
        n++;
        if (n % 20 >= rate.get(id)! * 20) throw new RpcError('INTERNAL', 'flaky');
        return 'ok';
      }, [d.filter]);
    });
    const low = fakeEndpoint('quiet', down, [d.filter]); // too little volume to be judged
    for (const e of endpoints) await hit(e, 40);
    await hit(low, 5);
    const events: EjectEvent[] = [];
    d.onEject((e) => events.push(e));
    d.sweep();
    expect(events.map((e) => e.instance)).toEqual(['h7']);
    expect(events[0]!.successRate).toBeCloseTo(0.5);
    expect(events[0]!.threshold!).toBeGreaterThan(0.5);
    expect(low.status).toBe('open');
    d.dispose();
  });

  it('does not judge success rates with too few hosts', async () => {
    const d = outlierDetection({ consecutiveFailures: 1000, requestVolume: 5, clock: fakeClock() });
    const a = fakeEndpoint('a', ok, [d.filter]);
    const b = fakeEndpoint('b', down, [d.filter]);
    await hit(a, 10);
    await hit(b, 10);
    d.sweep();
    expect(b.status).toBe('open');
    d.dispose();
  });

  it('tracks a host forgotten while idle again once it is called, so its ejection wears off', async () => {
    const clock = fakeClock();
    const d = outlierDetection({ intervalMs: 1000, baseEjectionMs: 2000, forgetAfterMs: 5000, clock });
    const { endpoints, failing } = fleet(3, d);
    for (const e of endpoints) await hit(e, 1);
    await clock.advance(10_000); // every host forgotten, the sweep timer stopped
    expect(clock.pending).toBe(0);
    failing.add('h0');
    await hit(endpoints[0]!, 5);
    expect(endpoints[0]!.status).toBe('ejected');
    expect(d.ejected()).toEqual(['h0']);
    failing.clear();
    await clock.advance(3000);
    expect(endpoints[0]!.status).toBe('open');
    // The share the ejection took is back: another host can be ejected.
    failing.add('h1');
    await hit(endpoints[1]!, 5);
    expect(d.ejected()).toEqual(['h1']);
    d.dispose();
  });

  it('caps ejections by the hosts still in use, not those that left in a scale-down', async () => {
    const clock = fakeClock();
    const d = outlierDetection({ consecutiveFailures: 1, clock });
    const { endpoints, failing } = fleet(20, d);
    await clock.advance(60_000); // 17 endpoints left the directory; their records linger
    const live = endpoints.slice(0, 3);
    for (const e of live) failing.add(e.instance.id);
    for (const e of live) await hit(e, 2);
    expect(live.filter((e) => e.status === 'ejected')).toHaveLength(1);
    d.dispose();
  });

  it('forgets an ejected host its directory dropped, freeing its share of the cap at once', async () => {
    const clock = fakeClock();
    const d = outlierDetection({ clock, maxEjectionMs: 300_000 });
    const unejected: string[] = [];
    d.onUneject((e) => unejected.push(e.instance));
    const { endpoints, failing } = fleet(10, d);
    failing.add('h0');
    await hit(endpoints[0]!, 5);
    expect(d.ejected()).toEqual(['h0']);
    endpoints[0]!.retired = true; // deregistered and replaced; the survivors keep serving
    failing.add('h3');
    await hit(endpoints[3]!, 5);
    expect(d.ejected()).toEqual(['h3']);
    expect(unejected).toEqual(['h0']);
    await hit(endpoints[0]!, 5); // a call that finishes after it left tracks it no more
    expect(d.ejected()).toEqual(['h3']);
    d.dispose();
  });

  it('keeps its timer off the event loop and stops it on dispose', async () => {
    const clock = fakeClock();
    const d = outlierDetection({ clock });
    expect(clock.pending).toBe(0);
    fakeEndpoint('a', ok, [d.filter]);
    expect(clock.pending).toBe(1);
    d.dispose();
    expect(clock.pending).toBe(0);
  });
});
