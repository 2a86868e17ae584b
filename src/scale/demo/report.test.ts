import { describe, expect, it } from 'vitest';
import type { ScaleDecision } from '../policy.js';
import type { LoadSample } from './load.js';
import { demoRecorder } from './report.js';
import { demoScenario, scenarioSeconds } from './scenario.js';

describe('demo scenario', () => {
  it('steps 10x, holds, ramps down and stays low; scale stretches every phase', () => {
    const s = demoScenario({ baseRate: 60 });
    expect(s.phases.map((p) => p.name)).toEqual(['warm-up', 'ramp-up', 'peak', 'ramp-down', 'cool-down']);
    expect(s.totalS).toBe(scenarioSeconds());
    expect(s.peakRate).toBe(600);
    expect(s.rateAt(0)).toBe(60);
    expect(s.rateAt(9)).toBeCloseTo(330); // halfway up the 2 s ramp starting at 8 s
    expect(s.rateAt(20)).toBe(600);
    expect(s.rateAt(s.totalS - 1)).toBe(60);
    expect(s.rateAt(s.totalS + 100)).toBe(60);
    expect(s.phaseAt(20).name).toBe('peak');

    const long = demoScenario({ baseRate: 60, scale: 2, peak: 5 });
    expect(long.totalS).toBe(2 * s.totalS);
    expect(long.peakRate).toBe(300);
    expect(demoScenario({ baseRate: 30, quick: true }).totalS).toBe(scenarioSeconds(true));
    expect(() => demoScenario({ baseRate: 60, peak: 0.5 })).toThrow(RangeError);
  });
});

describe('demo recorder', () => {
  // Quick scenario: step at 3 s, peak 4…14 s.
  const scenario = demoScenario({ baseRate: 30, quick: true });
  const sample = (t: number, p99Ms: number, ok = 300): LoadSample => ({
    t,
    rate: 300,
    ok,
    failed: 0,
    inflight: 0,
    p50Ms: 50,
    p99Ms,
  });
  const decision = (direction: ScaleDecision['direction']) => ({ direction }) as ScaleDecision;

  it('times recovery from the step: capacity, then three good p99 seconds in a row', () => {
    const r = demoRecorder(scenario, { p99TargetMs: 100, perInstanceRate: 160 });
    const p99s = [60, 60, 60, 400, 900, 120, 80, 300, 90, 80, 70, 60, 60, 60];
    for (const [i, p99] of p99s.entries()) r.sample(sample(i + 1, p99));
    r.replicas(2, 1);
    r.replicas(4, 2); // 300 calls/s needs 2 instances of 160
    r.replicas(5, 3);
    r.decision(3.5, decision('up'));
    r.decision(20, decision('down'));
    r.call(1, 50);
    r.call(5, 700);
    r.call(5, undefined);
    const s = r.summary();
    expect(s.neededForCapacity).toBe(2);
    expect(s.capacityReadyS).toBe(1);
    expect(s.firstScaleOutS).toBe(0.5);
    // Bad at 4, 5, 6 and 8 s; 9, 10, 11 s are the first three good ones after the first bad.
    expect(s.p99BackS).toBe(5);
    expect([s.scaleOuts, s.scaleIns, s.maxReady]).toEqual([1, 1, 3]);
    expect([s.sent, s.ok, s.failed]).toEqual([3, 2, 1]);
    const peak = s.phases.find((p) => p.name === 'peak')!;
    expect([peak.ok, peak.failed, peak.maxReady]).toEqual([1, 1, 3]);
    expect(peak.p99Ms).toBeGreaterThan(600);
  });

  it('reports 0 when p99 never went over, and nothing when it never recovered', () => {
    const calm = demoRecorder(scenario, { p99TargetMs: 100, perInstanceRate: 160 });
    for (let t = 1; t <= 16; t++) calm.sample(sample(t, 70));
    expect(calm.summary().p99BackS).toBe(0);
    const stuck = demoRecorder(scenario, { p99TargetMs: 100, perInstanceRate: 160 });
    for (let t = 1; t <= 16; t++) stuck.sample(sample(t, t > 3 && t % 3 === 0 ? 500 : 70));
    expect(stuck.summary().p99BackS).toBeUndefined();
    expect(stuck.summary().capacityReadyS).toBeUndefined();
  });

  it('counts a second with no completed call as bad, not as a p99 of 0', () => {
    const r = demoRecorder(scenario, { p99TargetMs: 100, perInstanceRate: 160 });
    // Stalled at 4, 5, 6 s (nothing finished), then three good seconds from 7 s.
    for (let t = 1; t <= 16; t++) r.sample(t >= 4 && t <= 6 ? sample(t, 0, 0) : sample(t, 70));
    expect(r.summary().p99BackS).toBe(3);
    const stalled = demoRecorder(scenario, { p99TargetMs: 100, perInstanceRate: 160 });
    for (let t = 1; t <= 16; t++) stalled.sample(t > 3 ? sample(t, 0, 0) : sample(t, 70));
    expect(stalled.summary().p99BackS).toBeUndefined();
  });
});
