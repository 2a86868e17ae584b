import { describe, expect, it } from 'vitest';
import { normalizeInstance } from '../../registry/instance.js';
import type { ScaleDecision } from '../../scale/policy.js';
import { Ring } from './ring.js';
import { decisionPoint } from './sources.js';
import { DashboardState } from './state.js';
import type { DashboardDelta, StatsSample } from './types.js';

const instance = (id: string, service = 'svc') =>
  normalizeInstance({ service, address: `127.0.0.1:${1000 + Number(id.replace(/\D/g, '') || 0)}`, id }, 1);
const sample = (id: string, at: number, rate = at): StatsSample => ({
  service: 'svc',
  id,
  at,
  rate,
  p99Ms: 1,
  inflight: 0,
  uptimeMs: at,
  utilization: 0,
  errors: 0,
  shed: 0,
});

describe('Ring', () => {
  it('keeps the newest items up to its capacity, oldest first', () => {
    const ring = new Ring<number>(3);
    expect(ring.toArray()).toEqual([]);
    for (let i = 1; i <= 10; i++) ring.push(i);
    expect(ring.length).toBe(3);
    expect(ring.toArray()).toEqual([8, 9, 10]);
    expect(ring.last()).toBe(10);
    expect(() => new Ring(0)).toThrow(RangeError);
  });
});

describe('DashboardState', () => {
  it('bounds series, events and timelines', () => {
    const state = new DashboardState({ seriesLength: 5, maxEvents: 4, timelineLength: 3, maxTimelines: 2 });
    state.upsert(instance('a'));
    for (let t = 1; t <= 50; t++) state.recordStats(t, [sample('a', t)], []);
    expect(state.seriesOf('svc', 'a').map((p) => p.at)).toEqual([46, 47, 48, 49, 50]);

    for (let i = 0; i < 30; i++) state.recordEvent('register', `e${i}`);
    expect(state.eventList().map((e) => e.text)).toEqual(['e26', 'e27', 'e28', 'e29']);

    const decision = (service: string, at: number) =>
      decisionPoint(service, {
        at,
        current: 1,
        recommended: 2,
        desired: 2,
        direction: 'up',
        reason: 'r',
        signals: [{ name: 'inflight', target: 2, average: 4, over: 1, desired: 2 }],
        limits: [],
        ready: 1,
        starting: 0,
        missing: 0,
        scaleInOrder: [],
      } satisfies ScaleDecision);
    for (let t = 1; t <= 10; t++) state.recordDecision(decision('one', t));
    expect(state.timelineOf('one').map((p) => p.at)).toEqual([8, 9, 10]);
    expect(state.timelineOf('one')[0]).toMatchObject({ signal: 'inflight', load: 4, target: 2 });
    state.recordDecision(decision('two', 1));
    state.recordDecision(decision('three', 1));
    expect(state.snapshot().timelines.map((t) => t.service)).toEqual(['two', 'three']);
  });

  it('drops an instance with its series, and ignores stats that arrive after it left', () => {
    const state = new DashboardState();
    const deltas: DashboardDelta[] = [];
    state.deltas((d) => deltas.push(d));
    state.upsert(instance('a'));
    state.upsert(instance('b'));
    state.recordStats(1, [sample('a', 1), sample('b', 1)], []);
    expect(state.remove('svc', 'a')).toBe(true);
    expect(state.remove('svc', 'a')).toBe(false);
    state.recordStats(2, [sample('a', 2), sample('b', 2)], []);
    const snap = state.snapshot();
    expect(snap.instances.map((i) => i.id)).toEqual(['b']);
    expect(snap.series).toEqual([{ service: 'svc', id: 'b', points: expect.any(Array) }]);
    expect(state.seriesOf('svc', 'a')).toEqual([]);
    expect(state.seriesOf('svc', 'b')).toHaveLength(2);
    expect(deltas.map((d) => d.type)).toEqual(['instance', 'instance', 'stats', 'remove', 'stats']);
  });

  it('lists at most maxSnapshotInstances and counts the rest', () => {
    const state = new DashboardState({ maxSnapshotInstances: 2 });
    for (const id of ['c', 'a', 'b', 'd']) state.upsert(instance(id));
    const snap = state.snapshot();
    expect(snap.instances.map((i) => i.id)).toEqual(['a', 'b']);
    expect(snap.hiddenInstances).toBe(2);
  });

  it('reports the previous status on update so status changes can be told from re-registrations', () => {
    const state = new DashboardState();
    expect(state.upsert(instance('a'))).toBeUndefined();
    expect(state.upsert({ ...instance('a'), status: 'OUT_OF_SERVICE' })).toBe('UP');
    expect(state.snapshot().instances[0]?.status).toBe('OUT_OF_SERVICE');
  });
});
