import { Histogram } from '../histogram.js';
import type { ScaleDecision } from '../policy.js';
import type { LoadSample } from './load.js';
import type { DemoScenario, PhaseName } from './scenario.js';

/** What one phase of the demo looked like from the caller's side. */
export interface PhaseSummary {
  readonly name: PhaseName;
  readonly fromRate: number;
  readonly toRate: number;
  readonly ok: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxReady: number;
}

export interface DemoSummary {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  readonly maxReady: number;
  readonly scaleOuts: number;
  readonly scaleIns: number;
  readonly p99TargetMs: number;
  /** Ready instances whose capacity covers the peak rate. */
  readonly neededForCapacity: number;
  /** Seconds from the start of the step to the first scale-out decision. */
  readonly firstScaleOutS?: number;
  /** Seconds from the step until `neededForCapacity` instances were ready. */
  readonly capacityReadyS?: number;
  /**
   * Seconds from the step until client p99 was back under target for three seconds in a
   * row: 0 when it never went over, undefined when that did not happen before the load fell.
   */
  readonly p99BackS?: number;
  readonly phases: readonly PhaseSummary[];
}

interface PhaseStats {
  hist: Histogram;
  ok: number;
  failed: number;
  maxReady: number;
}

/**
 * Collects the demo's figures as it runs: calls by phase, the fleet size, scale
 * decisions, and the per-second client samples that the recovery time is read from.
 */
export function demoRecorder(
  scenario: DemoScenario,
  options: { p99TargetMs: number; perInstanceRate: number },
) {
  const stats = new Map<PhaseName, PhaseStats>(
    scenario.phases.map((p) => [p.name, { hist: new Histogram(), ok: 0, failed: 0, maxReady: 0 }]),
  );
  const step = scenario.phases.find((p) => p.name === 'ramp-up')!;
  const peak = scenario.phases.find((p) => p.name === 'peak')!;
  const stepS = step.startS;
  const peakEndS = peak.startS + peak.durationS;
  const neededForCapacity = Math.ceil(scenario.peakRate / options.perInstanceRate);
  const samples: LoadSample[] = [];
  let sent = 0;
  let maxReady = 0;
  let scaleOuts = 0;
  let scaleIns = 0;
  let firstScaleOutS: number | undefined;
  let capacityReadyS: number | undefined;

  return {
    /** A call sent at `sentS` seconds finished after `latencyMs`, or failed (undefined). */
    call(sentS: number, latencyMs: number | undefined) {
      const s = stats.get(scenario.phaseAt(sentS).name)!;
      sent++;
      if (latencyMs === undefined) s.failed++;
      else {
        s.ok++;
        s.hist.recordMs(latencyMs);
      }
    },
    /** The number of ready instances at `t` seconds. */
    replicas(t: number, ready: number) {
      maxReady = Math.max(maxReady, ready);
      const s = stats.get(scenario.phaseAt(t).name)!;
      s.maxReady = Math.max(s.maxReady, ready);
      if (t >= stepS && capacityReadyS === undefined && ready >= neededForCapacity)
        capacityReadyS = t - stepS;
    },
    sample(sample: LoadSample) {
      samples.push(sample);
    },
    decision(t: number, d: ScaleDecision) {
      if (d.direction === 'up') {
        scaleOuts++;
        if (t >= stepS && firstScaleOutS === undefined) firstScaleOutS = t - stepS;
      } else if (d.direction === 'down') scaleIns++;
    },
    summary(): DemoSummary {
      const inPeak = samples.filter((s) => s.t > stepS && s.t <= peakEndS + 0.5);
      // A second with no completed call has no p99 (it reads 0): stalled, not good.
      const good = (i: number) => inPeak[i]!.ok > 0 && inPeak[i]!.p99Ms <= options.p99TargetMs;
      const firstBad = inPeak.findIndex((_, i) => !good(i));
      // Back under: the first three good seconds in a row after the first bad one.
      let p99BackS: number | undefined = firstBad < 0 && inPeak.length >= 3 ? 0 : undefined;
      for (let i = firstBad + 1; firstBad >= 0 && i + 2 < inPeak.length; i++) {
        if (good(i) && good(i + 1) && good(i + 2)) {
          p99BackS = inPeak[i - 1]!.t - stepS;
          break;
        }
      }
      const totals = [...stats.values()].reduce(
        (a, s) => ({ ok: a.ok + s.ok, failed: a.failed + s.failed }),
        {
          ok: 0,
          failed: 0,
        },
      );
      return {
        sent,
        ...totals,
        maxReady,
        scaleOuts,
        scaleIns,
        p99TargetMs: options.p99TargetMs,
        neededForCapacity,
        ...(firstScaleOutS === undefined ? {} : { firstScaleOutS }),
        ...(capacityReadyS === undefined ? {} : { capacityReadyS }),
        ...(p99BackS === undefined ? {} : { p99BackS }),
        phases: scenario.phases.map((p) => {
          const s = stats.get(p.name)!;
          const [p50Ms = 0, p99Ms = 0] = s.hist.quantilesMs([0.5, 0.99]);
          return {
            name: p.name,
            fromRate: p.fromRate,
            toRate: p.toRate,
            ok: s.ok,
            failed: s.failed,
            p50Ms,
            p99Ms,
            maxReady: s.maxReady,
          };
        }),
      };
    },
  };
}

export type DemoRecorder = ReturnType<typeof demoRecorder>;
