import { describe, expect, it } from 'vitest';
import type { EndpointStatus } from '../client/endpoint-types.js';
import { balancerContract } from './balancer.case.js';
import { routable } from './health.js';
import { p2cEwma } from './p2c-ewma.js';
import { mulberry32 } from './prng.js';
import { roundRobin } from './round-robin.js';
import { countPicks, testContext, testEndpoints } from './test-endpoints.js';
import { zoneAware } from './zone-aware.js';

balancerContract('zoneAware', () => zoneAware({ zone: 'z1', inner: roundRobin({ random: mulberry32(13) }) }));

/** Four endpoints in z1 (the caller's zone) and four in z2; `down` of the local ones ejected. */
function fleet(down: number) {
  return testEndpoints(8, (i) => ({
    zone: i < 4 ? 'z1' : 'z2',
    status: (i < down ? 'ejected' : 'open') as EndpointStatus,
  }));
}

const zonesPicked = (down: number, minHealthyShare?: number) => {
  const all = fleet(down);
  const b = zoneAware({ zone: 'z1', inner: roundRobin({ random: () => 0 }), minHealthyShare });
  const counts = countPicks(b, routable(all).endpoints, 800);
  const zones = new Set<string>();
  for (const e of all) if (counts.get(e.instance.id)) zones.add(e.instance.zone!);
  return [...zones].sort();
};

describe('zoneAware', () => {
  it('stays in the local zone while enough of it is healthy', () => {
    expect(zonesPicked(0)).toEqual(['z1']);
    expect(zonesPicked(2)).toEqual(['z1']); // 2 of 4 healthy meets the default 0.5
  });

  it('spills over to every zone when too little of the local zone is left', () => {
    expect(zonesPicked(3)).toEqual(['z1', 'z2']); // 1 of 4
    expect(zonesPicked(4)).toEqual(['z2']);
    expect(zonesPicked(2, 0.75)).toEqual(['z1', 'z2']);
  });

  it('goes to another zone when a retry avoids every local endpoint', () => {
    for (const inner of [roundRobin({ random: () => 0 }), p2cEwma({ random: mulberry32(7) })]) {
      const all = testEndpoints(4, (i) => ({ zone: i < 2 ? 'z1' : 'z2' }));
      const b = zoneAware({ zone: 'z1', inner });
      const avoiding = (...ids: string[]) => testContext({ avoid: new Set(ids) });
      for (let i = 0; i < 50; i++) {
        expect(b.pick(all, avoiding('e0'))!.instance.id).toBe('e1'); // stays local while it can
        expect(b.pick(all, avoiding('e0', 'e1'))!.instance.zone).toBe('z2');
      }
    }
  });

  it('uses every zone when none of the endpoints is local', () => {
    const endpoints = testEndpoints(4, () => ({ zone: 'z9' }));
    const counts = countPicks(zoneAware({ zone: 'z1', inner: roundRobin() }), endpoints, 40);
    expect([...counts.values()]).toEqual([10, 10, 10, 10]);
  });

  it('spills over in panic mode, when the local endpoints are there but unhealthy', () => {
    const all = testEndpoints(4, (i) => ({ zone: i < 2 ? 'z1' : 'z2', status: 'unavailable' }));
    const { endpoints, panic } = routable(all);
    expect(panic).toBe(true);
    const counts = countPicks(zoneAware({ zone: 'z1', inner: roundRobin() }), endpoints, 40);
    expect([...counts.values()]).toEqual([10, 10, 10, 10]);
  });
});
