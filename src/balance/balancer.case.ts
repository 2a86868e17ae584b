import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../client/endpoint-types.js';
import type { Balancer } from './balancer.js';
import { countPicks, testContext, testEndpoints } from './test-endpoints.js';

export interface ContractOptions {
  /** The algorithm maps a call's hashKey to an endpoint (same key, same endpoint). */
  hashing?: boolean;
}

/** A different hash key per pick, so hashing algorithms spread like the rest. */
const keyed = (i: number) => testContext({ hashKey: `key-${i}` });

/**
 * What every Balancer promises, run by each algorithm's test file. `factory` must return a
 * fresh balancer each call; randomness inside should be seeded so failures reproduce.
 */
export function balancerContract(name: string, factory: () => Balancer, options: ContractOptions = {}): void {
  describe(`${name} (Balancer contract)`, () => {
    it('has a name', () => {
      expect(factory().name).toMatch(/\S/);
    });

    it('returns undefined for no endpoints and never throws', () => {
      expect(factory().pick([], testContext())).toBeUndefined();
    });

    it('returns the only endpoint when there is one', () => {
      const b = factory();
      const [only] = testEndpoints(1);
      for (let i = 0; i < 20; i++) expect(b.pick([only!], keyed(i))).toBe(only);
    });

    it('picks only from the endpoints given, without mutating them', () => {
      const b = factory();
      const endpoints = Object.freeze(testEndpoints(7, (i) => ({ weight: 1 + (i % 3) })));
      const before = JSON.stringify(endpoints.map((e) => [e.instance, e.status, e.load]));
      const allowed = new Set(endpoints);
      for (let i = 0; i < 700; i++) expect(allowed.has(b.pick(endpoints, keyed(i))!)).toBe(true);
      expect(JSON.stringify(endpoints.map((e) => [e.instance, e.status, e.load]))).toBe(before);
    });

    it('follows every change of the endpoint set, never a stale cached one', () => {
      const b = factory();
      const pool = testEndpoints(8);
      const sets: Endpoint[][] = [
        pool.slice(0, 5),
        pool.slice(0, 2),
        pool.slice(5, 8),
        [...pool.slice(5, 8)], // same members, new array
        pool.slice(0, 5).reverse(),
        [pool[7]!],
        [],
        pool,
        pool.slice(3, 4),
      ];
      let i = 0;
      for (const set of sets) {
        const allowed = new Set(set);
        for (let k = 0; k < 40; k++) {
          const e = b.pick(set, keyed(i++));
          if (set.length === 0) expect(e).toBeUndefined();
          else expect(allowed.has(e!)).toBe(true);
        }
      }
    });

    it('always returns a member for any sequence of sets, weights and loads (property)', () => {
      const pool = testEndpoints(12);
      const endpointArb = fc.record({
        index: fc.integer({ min: 0, max: 11 }),
        weight: fc.constantFrom(0, 0.5, 1, 3),
        inflight: fc.nat(20),
        latency: fc.constantFrom(0, 1, 50, 900),
      });
      fc.assert(
        fc.property(
          fc.array(fc.array(endpointArb, { minLength: 1, maxLength: 12 }), { maxLength: 8 }),
          (steps) => {
            const b = factory();
            let n = 0;
            for (const step of steps) {
              const set = [...new Map(step.map((s) => [s.index, s])).values()].map((s): Endpoint => {
                const base = pool[s.index]!;
                return {
                  ...base,
                  instance: { ...base.instance, weight: s.weight },
                  load: {
                    ...base.load,
                    inflight: s.inflight,
                    completed: s.latency ? 1 : 0,
                    peakEwmaMs: s.latency,
                    avgLatencyMs: s.latency,
                  },
                };
              });
              for (let k = 0; k < 5; k++) {
                const e = b.pick(set, keyed(n++));
                if (e === undefined || !set.includes(e)) return false;
              }
            }
            return true;
          },
        ),
        { seed: 42, numRuns: 150 },
      );
    });

    it('spreads calls across equal endpoints (each gets at least half its fair share)', () => {
      const endpoints = testEndpoints(10);
      const counts = countPicks(factory(), endpoints, 4000, keyed);
      // Fair share is 400; 200 leaves room for seeded randomness, far from one endpoint hogging.
      for (const c of counts.values()) expect(c).toBeGreaterThanOrEqual(200);
    });

    it('avoids the instances in ctx.avoid while others remain, and still answers when all are', () => {
      const b = factory();
      const endpoints = testEndpoints(5);
      const avoid = new Set(['e0', 'e1', 'e3']);
      for (let i = 0; i < 300; i++) {
        const e = b.pick(endpoints, testContext({ hashKey: `key-${i}`, avoid }));
        expect(['e2', 'e4']).toContain(e!.instance.id);
      }
      const all = new Set(endpoints.map((e) => e.instance.id));
      expect(b.pick(endpoints, testContext({ hashKey: 'k', avoid: all }))).toBeDefined();
    });

    it('answers when every weight is zero', () => {
      const b = factory();
      const endpoints = testEndpoints(4, () => ({ weight: 0 }));
      for (let i = 0; i < 20; i++) expect(endpoints).toContain(b.pick(endpoints, keyed(i)));
    });

    if (options.hashing) {
      it('sends the same key to the same endpoint, also through a new array of the same endpoints', () => {
        const b = factory();
        const endpoints = testEndpoints(9);
        for (let i = 0; i < 200; i++) {
          const first = b.pick(endpoints, keyed(i));
          expect(b.pick(endpoints, keyed(i))).toBe(first);
          expect(b.pick([...endpoints].reverse(), keyed(i))).toBe(first);
        }
      });
    }
  });
}
