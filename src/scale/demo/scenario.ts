/** The load profile of the elastic demo: a 10× step up, a hold, a ramp down, a long low tail. */

export type PhaseName = 'warm-up' | 'ramp-up' | 'peak' | 'ramp-down' | 'cool-down';

export interface DemoPhase {
  readonly name: PhaseName;
  /** Seconds since the load started. */
  readonly startS: number;
  readonly durationS: number;
  /** Offered rate at the phase's start and end, calls/s; linear in between. */
  readonly fromRate: number;
  readonly toRate: number;
}

export interface DemoScenario {
  readonly phases: readonly DemoPhase[];
  readonly totalS: number;
  readonly baseRate: number;
  readonly peakRate: number;
  /** Offered rate in calls/s at `t` seconds; the base rate after the end. */
  rateAt(t: number): number;
  /** The phase at `t` seconds; the last one after the end. */
  phaseAt(t: number): DemoPhase;
}

export interface DemoScenarioOptions {
  /** Calls/s before and after the peak. */
  baseRate: number;
  /** Peak rate as a multiple of the base; default 10. */
  peak?: number;
  /** Multiplies every phase's length; default 1. */
  scale?: number;
  /** Shorter phases, for tests and a first look. */
  quick?: boolean;
}

/** Phase lengths in seconds at scale 1: about 65 s, or 28 s quick. */
const LENGTHS: Record<'normal' | 'quick', Record<PhaseName, number>> = {
  // The cool-down outlasts the fleet's scale-down window (at most 15 s) with room to drain.
  normal: { 'warm-up': 8, 'ramp-up': 2, peak: 25, 'ramp-down': 5, 'cool-down': 25 },
  quick: { 'warm-up': 3, 'ramp-up': 1, peak: 10, 'ramp-down': 2, 'cool-down': 12 },
};

/** Base phase lengths sum, to turn a wanted total duration into a scale. */
export function scenarioSeconds(quick = false): number {
  return Object.values(LENGTHS[quick ? 'quick' : 'normal']).reduce((a, b) => a + b, 0);
}

export function demoScenario(options: DemoScenarioOptions): DemoScenario {
  const scale = options.scale ?? 1;
  const baseRate = options.baseRate;
  const peakRate = baseRate * (options.peak ?? 10);
  if (!(scale > 0) || !(baseRate > 0) || !(peakRate >= baseRate))
    throw new RangeError('demoScenario needs scale > 0, baseRate > 0 and peak >= 1');
  const lengths = LENGTHS[options.quick ? 'quick' : 'normal'];
  const ends: Record<PhaseName, [number, number]> = {
    'warm-up': [baseRate, baseRate],
    'ramp-up': [baseRate, peakRate],
    peak: [peakRate, peakRate],
    'ramp-down': [peakRate, baseRate],
    'cool-down': [baseRate, baseRate],
  };
  const phases: DemoPhase[] = [];
  let startS = 0;
  for (const name of Object.keys(lengths) as PhaseName[]) {
    const durationS = lengths[name] * scale;
    const [fromRate, toRate] = ends[name];
    phases.push({ name, startS, durationS, fromRate, toRate });
    startS += durationS;
  }
  const phaseAt = (t: number) => phases.find((p) => t < p.startS + p.durationS) ?? phases.at(-1)!;
  return {
    phases,
    totalS: startS,
    baseRate,
    peakRate,
    phaseAt,
    rateAt(t) {
      const p = phaseAt(t);
      const f = Math.min(1, Math.max(0, (t - p.startS) / p.durationS));
      return p.fromRate + (p.toRate - p.fromRate) * f;
    },
  };
}
