import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../client/endpoint-types.js';
import { balancerContract } from './balancer.case.js';
import { consistentHash } from './consistent-hash.js';
import { mulberry32 } from './prng.js';
import { random } from './random.js';
import { testContext, testEndpoint, testEndpoints } from './test-endpoints.js';

balancerContract('consistentHash', () => consistentHash({ fallback: random({ random: mulberry32(12) }) }), {
  hashing: true,
});
balancerContract(
  'consistentHash bounded',
  () => consistentHash({ boundedLoad: 1.25, fallback: random({ random: mulberry32(12) }) }),
  { hashing: true },
);

const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

function assign(endpoints: readonly Endpoint[], b = consistentHash()): string[] {
  return KEYS.map((k) => b.pick(endpoints, testContext({ hashKey: k }))!.instance.id);
}

describe('consistentHash', () => {
  it('spreads 10,000 keys over 10 endpoints within ±40 % of fair (160 virtual nodes)', () => {
    const counts = new Map<string, number>();
    for (const id of assign(testEndpoints(10))) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(counts.size).toBe(10);
    for (const c of counts.values()) expect(Math.abs(c - 1000)).toBeLessThan(400);
  });

  it('moves only about 1/N of keys, all to the newcomer, when one joins', () => {
    for (const n of [3, 10, 30]) {
      const before = testEndpoints(n);
      const after = [...before, testEndpoint({ id: 'joined' })];
      const a = assign(before);
      const b = assign(after);
      let moved = 0;
      for (let i = 0; i < KEYS.length; i++) {
        if (a[i] === b[i]) continue;
        moved++;
        expect(b[i]).toBe('joined');
      }
      // Ideal 1/(N+1); the newcomer's arc varies by ~1/√160 ≈ 8 %, so allow +35 %.
      expect(moved / KEYS.length, `N=${n}`).toBeLessThan((1 / (n + 1)) * 1.35);
      expect(moved / KEYS.length, `N=${n}`).toBeGreaterThan((1 / (n + 1)) * 0.65);
    }
  });

  it('moves only the keys of an endpoint that leaves', () => {
    const endpoints = testEndpoints(8);
    const a = assign(endpoints);
    const b = assign(endpoints.filter((e) => e.instance.id !== 'e3'));
    for (let i = 0; i < KEYS.length; i++) if (a[i] !== 'e3') expect(b[i]).toBe(a[i]);
  });

  it('gives every client the same ring, whatever the order of its list', () => {
    const endpoints = testEndpoints(12);
    const rand = mulberry32(5);
    const shuffled = [...endpoints].sort(() => rand() - 0.5);
    expect(shuffled).not.toEqual(endpoints);
    expect(assign(shuffled, consistentHash())).toEqual(assign(endpoints, consistentHash()));
  });

  it('gives a weight-2 endpoint about twice the keys', () => {
    const endpoints = testEndpoints(5, (i) => ({ weight: i === 0 ? 2 : 1 }));
    const heavy = assign(endpoints).filter((id) => id === 'e0').length;
    // Fair share 2/6 of 10,000.
    expect(Math.abs(heavy - 3333)).toBeLessThan(700);
  });

  it('reads the key from metadata or a custom function, and falls back when there is none', () => {
    const endpoints = testEndpoints(6);
    const byTenant = consistentHash({ metadataKey: 'tenant' });
    const t = (tenant: string) => byTenant.pick(endpoints, testContext({ metadata: { tenant } }));
    expect(t('acme')).toBe(t('acme'));
    expect(new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((x) => t(x))).size).toBeGreaterThan(2);

    const custom = consistentHash({ key: (ctx) => ctx.method });
    const m = (method: string) => custom.pick(endpoints, testContext({ method }));
    expect(m('svc/a')).toBe(m('svc/a'));

    const fallback = { name: 'first', pick: (e: readonly Endpoint[]) => e[0] };
    expect(consistentHash({ fallback }).pick(endpoints, testContext())).toBe(endpoints[0]);
  });

  it('with bounded load, keeps every endpoint within ⌈c × average⌉ even when one key is hot', () => {
    const place = (b: ReturnType<typeof consistentHash>) => {
      const endpoints = testEndpoints(10);
      const rand = mulberry32(6);
      for (let i = 0; i < 2000; i++) {
        // 80 % of calls share one key; nothing completes, so inflight only grows.
        const key = rand() < 0.8 ? 'hot' : `key-${i}`;
        b.pick(endpoints, testContext({ hashKey: key }))!.load.inflight++;
      }
      return Math.max(...endpoints.map((e) => e.load.inflight));
    };
    expect(place(consistentHash())).toBeGreaterThan(1500);
    expect(place(consistentHash({ boundedLoad: 1.25 }))).toBeLessThanOrEqual(Math.ceil((1.25 * 2000) / 10));
  });

  it('with bounded load, keeps a key on its owner while the owner is within bounds', () => {
    const endpoints = testEndpoints(10, () => ({ load: { inflight: 3 } }));
    const plain = consistentHash();
    const bounded = consistentHash({ boundedLoad: 1.25 });
    for (const k of KEYS.slice(0, 200)) {
      const ctx = testContext({ hashKey: k });
      expect(bounded.pick(endpoints, ctx)).toBe(plain.pick(endpoints, ctx));
    }
  });

  it('rejects a bound that cannot be met', () => {
    expect(() => consistentHash({ boundedLoad: 1 })).toThrow(RangeError);
  });
});
