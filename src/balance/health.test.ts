import { describe, expect, it } from 'vitest';
import { routable, sourceOf } from './health.js';
import { testEndpoint, testEndpoints } from './test-endpoints.js';

const ids = (list: readonly { instance: { id: string } }[]) => list.map((e) => e.instance.id);

describe('routable', () => {
  it('keeps only open endpoints whose instance is UP', () => {
    const all = [
      testEndpoint({ id: 'ok' }),
      testEndpoint({ id: 'busy', status: 'busy' }),
      testEndpoint({ id: 'draining', status: 'draining' }),
      testEndpoint({ id: 'ejected', status: 'ejected' }),
      testEndpoint({ id: 'unavailable', status: 'unavailable' }),
      testEndpoint({ id: 'starting', instanceStatus: 'STARTING' }),
      testEndpoint({ id: 'oos', instanceStatus: 'OUT_OF_SERVICE' }),
      testEndpoint({ id: 'ok2' }),
    ];
    const r = routable(all);
    expect(ids(r.endpoints)).toEqual(['ok', 'ok2']);
    expect(r.panic).toBe(false);
    expect(sourceOf(r.endpoints)).toBe(all);
  });

  it('panics to the UP endpoints that are not draining when none is healthy', () => {
    const all = [
      testEndpoint({ id: 'ejected', status: 'ejected' }),
      testEndpoint({ id: 'draining', status: 'draining' }),
      testEndpoint({ id: 'busy', status: 'busy' }),
      testEndpoint({ id: 'down', status: 'ejected', instanceStatus: 'DOWN' }),
    ];
    expect(routable(all)).toEqual({ endpoints: [all[0], all[2]], panic: true });
  });

  it('panics to everything when nothing else is left, and to nothing for nothing', () => {
    const all = testEndpoints(2, () => ({ status: 'draining' }));
    expect(routable(all)).toEqual({ endpoints: all, panic: true });
    expect(routable([])).toEqual({ endpoints: [], panic: false });
  });

  it('returns the same result while the selection holds, a new one when a status changes', () => {
    const all = testEndpoints(4);
    const first = routable(all);
    expect(first.endpoints).toBe(all); // everything healthy: the input itself, no copy
    expect(routable(all)).toBe(first);

    all[1]!.status = 'ejected';
    const second = routable(all);
    expect(ids(second.endpoints)).toEqual(['e0', 'e2', 'e3']);
    expect(routable(all)).toBe(second);

    for (const e of all) e.status = 'unavailable';
    expect(routable(all).panic).toBe(true);
    all[1]!.status = 'open';
    expect(routable(all)).toEqual({ endpoints: [all[1]], panic: false });
  });
});
