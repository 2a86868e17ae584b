import { census, type FleetSignals, scaleInOrder } from './fleet.js';
import type { LoadSnapshot } from './signals.js';

export type SignalName =
  | 'inflight'
  | 'concurrency'
  | 'rate'
  | 'p50Ms'
  | 'p90Ms'
  | 'p99Ms'
  | 'utilization'
  | 'cpu';

/** A per-instance average to hold at `target`: a snapshot field or any function of one. */
export interface Target {
  signal: SignalName | ((snapshot: LoadSnapshot) => number);
  target: number;
  /** Shown in decisions; default the field name or `custom`. */
  name?: string;
}

/** At most `pods` instances, or `percent` % of the fleet, added (or removed) per period. */
export type StepLimit = { pods: number; periodMs: number } | { percent: number; periodMs: number };

export interface ScaleRules {
  /** Up: act on the lowest recommendation of this window; down: on the highest. */
  stabilizationMs?: number;
  steps?: readonly StepLimit[];
  /** Which step limit applies when several do: the one allowing most change (max), least (min), or none. */
  select?: 'max' | 'min' | 'disabled';
}

export interface TargetTrackingOptions {
  targets: readonly Target[];
  /** No change while every |metric / target − 1| is within this; default 0.1. */
  tolerance?: number;
  minReplicas?: number;
  maxReplicas: number;
  /** Default: no stabilization, +4 instances or +100 % per 15 s, whichever is more. */
  scaleUp?: ScaleRules;
  /** Default: 300 s stabilization, −100 % per 15 s. */
  scaleDown?: ScaleRules;
  /** Instances younger than this count as starting, not ready; default 0. */
  startupMs?: number;
  now?: () => number;
}

export interface SignalReading {
  name: string;
  target: number;
  /** Average over the instances it covers; undefined without data. */
  average?: number;
  ratio?: number;
  /** Instances the average covers (ready, plus missing or starting ones when they count). */
  over: number;
  desired?: number;
  /** Why this signal asks for no change, or how its average was adjusted. */
  note?: string;
}

/** A policy's answer with its reasons, so logs and the dashboard can say why it scaled. */
export interface ScaleDecision {
  at: number;
  current: number;
  /** The largest desire across signals, before stabilization and limits. */
  recommended: number;
  desired: number;
  direction: 'up' | 'down' | 'none';
  reason: string;
  signals: readonly SignalReading[];
  /** Which of stabilization, step, min, max changed the recommendation. */
  limits: readonly string[];
  ready: number;
  starting: number;
  missing: number;
  /** Instance ids in the order to remove them on scale-in. */
  scaleInOrder: readonly string[];
}

/**
 * Decides a replica count from the fleet's signals. DESIGN.md sketches it returning a
 * number; it returns a ScaleDecision instead because a scaling action nobody can explain
 * is one nobody trusts. `createAutoscaler` also accepts a plain `(signals, current) =>
 * number` and wraps it.
 */
export type ScalePolicy = ((signals: FleetSignals, current: number) => ScaleDecision) & {
  /** The scaler failed to apply `decision`: its step must not use up the step limits. */
  notApplied?(decision: ScaleDecision): void;
};

const UP_DEFAULT: Required<ScaleRules> = {
  stabilizationMs: 0,
  steps: [
    { pods: 4, periodMs: 15_000 },
    { percent: 100, periodMs: 15_000 },
  ],
  select: 'max',
};
const DOWN_DEFAULT: Required<ScaleRules> = {
  stabilizationMs: 300_000,
  steps: [{ percent: 100, periodMs: 15_000 }],
  select: 'max',
};

/** The Kubernetes HPA algorithm over Tensile load signals. */
export function targetTracking(
  options: TargetTrackingOptions,
): ScalePolicy & { reset(): void; notApplied(decision: ScaleDecision): void } {
  const now = options.now ?? Date.now;
  const tolerance = options.tolerance ?? 0.1;
  const min = options.minReplicas ?? 1;
  const max = options.maxReplicas;
  if (!(min >= 0 && max >= min)) throw new RangeError(`need 0 <= minReplicas <= maxReplicas`);
  if (options.targets.length === 0) throw new RangeError('targetTracking needs at least one target');
  for (const t of options.targets) if (!(t.target > 0)) throw new RangeError('targets must be > 0');
  const up = { ...UP_DEFAULT, ...options.scaleUp };
  const down = { ...DOWN_DEFAULT, ...options.scaleDown };
  const startupMs = options.startupMs ?? 0;
  let recommendations: { at: number; value: number }[] = [];
  let events: { at: number; delta: number }[] = [];
  let loads: ({ at: number; load: number } | undefined)[] = [];
  const stepOf = new WeakMap<ScaleDecision, { at: number; delta: number }>();

  const policy = (fleet: FleetSignals, current: number): ScaleDecision => {
    const at = now();
    const c = census(fleet, startupMs);
    // Instances asked for but not registered yet are starting too, with no load.
    const unready =
      c.starting.length + Math.max(0, current - c.ready.length - c.starting.length - c.missing.length);
    const readings = options.targets.map((t, k) => {
      const last = loads[k];
      const lastLoad = last && last.at > at - MEMORY_MS ? last.load : undefined;
      const counts = { missing: c.missing.length, unready, current, tolerance, lastLoad };
      const { reading, load } = read(t, c.ready, counts);
      if (load !== undefined) loads[k] = { at, load };
      return reading;
    });
    const withData = readings.filter((r) => r.desired !== undefined);
    let recommended = withData.length ? Math.max(...withData.map((r) => r.desired!)) : current;
    const limits: string[] = [];
    // A blind signal might be the one that would have kept the fleet up: never scale in without all of them.
    if (withData.length < readings.length && recommended < current) {
      recommended = current;
      limits.push('missing signal blocks scale-in');
    }

    const horizon = Math.max(up.stabilizationMs, down.stabilizationMs);
    recommendations = recommendations.filter((r) => r.at > at - horizon);
    recommendations.push({ at, value: recommended });
    let upRec = recommended;
    let downRec = recommended;
    for (const r of recommendations) {
      if (r.at > at - up.stabilizationMs) upRec = Math.min(upRec, r.value);
      if (r.at > at - down.stabilizationMs) downRec = Math.max(downRec, r.value);
    }
    let desired = Math.min(Math.max(current, upRec), downRec);
    if (desired !== recommended)
      limits.push(`stabilization (${desired > recommended ? 'down' : 'up'} window)`);

    const periods = Math.max(...[...up.steps, ...down.steps].map((s) => s.periodMs), 0);
    events = events.filter((e) => e.at > at - periods);
    if (desired > current) {
      const cap = stepLimit(up, current, events, at, +1);
      if (desired > cap) {
        desired = cap;
        limits.push(`scale-up step limit ${cap}`);
      }
    } else if (desired < current) {
      const floor = stepLimit(down, current, events, at, -1);
      if (desired < floor) {
        desired = floor;
        limits.push(`scale-down step limit ${floor}`);
      }
    }
    if (desired < min) limits.push(`minReplicas ${min}`);
    if (desired > max) limits.push(`maxReplicas ${max}`);
    desired = Math.min(max, Math.max(min, desired));
    const step = desired !== current ? { at, delta: desired - current } : undefined;
    if (step) events.push(step);

    const direction = desired > current ? 'up' : desired < current ? 'down' : 'none';
    const decision: ScaleDecision = {
      at,
      current,
      recommended,
      desired,
      direction,
      reason: explain(current, desired, readings, limits),
      signals: readings,
      limits,
      ready: c.ready.length,
      starting: unready,
      missing: c.missing.length,
      scaleInOrder: direction === 'down' ? scaleInOrder(fleet, startupMs) : [],
    };
    if (step) stepOf.set(decision, step);
    return decision;
  };
  return Object.assign(policy, {
    reset() {
      recommendations = [];
      events = [];
      loads = [];
    },
    // Like the HPA, count a step once it happened: a failed write leaves the budget whole.
    notApplied(decision: ScaleDecision) {
      const step = stepOf.get(decision);
      events = events.filter((e) => e !== step);
    },
  });
}

/** A fleet's load measured longer ago than this says little about now. */
const MEMORY_MS = 60_000;

interface Counts {
  missing: number;
  unready: number;
  current: number;
  tolerance: number;
  /** The load this signal last measured across the fleet (sum over instances), if recent. */
  lastLoad: number | undefined;
}

/** One target's reading, and the fleet load it counted (remembered for blind ticks). */
function read(
  t: Target,
  ready: readonly { snapshot?: LoadSnapshot }[],
  { missing, unready, current, tolerance, lastLoad }: Counts,
): { reading: SignalReading; load?: number } {
  const name = t.name ?? (typeof t.signal === 'string' ? t.signal : 'custom');
  const value = typeof t.signal === 'string' ? (s: LoadSnapshot) => s[t.signal as SignalName] : t.signal;
  const base = { name, target: t.target, over: ready.length };
  const withinTolerance = (r: number) => Math.abs(r - 1) <= tolerance;
  if (ready.length === 0) {
    if (missing === 0) return { reading: { ...base, note: 'no ready instance to measure' } };
    // Every instance old enough to answer timed out. Here that usually means saturated
    // (a stalled event loop), so count them at the fleet's last measured load, never below
    // target: the fleet grows to carry that load once, without compounding, and never
    // shrinks blind.
    const load = Math.max(missing * t.target, lastLoad ?? 0);
    const ratio = load / missing / t.target;
    const at = lastLoad === undefined ? 'at target' : `at the last measured load ${fmt(load)}`;
    const note = `no ready instance: ${missing} timed out, counted ${at}`;
    const desired = withinTolerance(ratio) ? current : Math.max(current, Math.ceil(load / t.target));
    return { reading: { ...base, average: load / missing, ratio, over: missing, desired, note } };
  }
  const sum = ready.reduce((acc, i) => acc + (i.snapshot ? value(i.snapshot) : 0), 0);
  if (!Number.isFinite(sum)) return { reading: { ...base, note: 'signal not finite' } };
  const average = sum / ready.length;
  const ratio = average / t.target;
  const scaleUpWithUnready = unready > 0 && ratio > 1;
  if (missing === 0 && !scaleUpWithUnready) {
    if (withinTolerance(ratio))
      return { reading: { ...base, average, ratio, desired: current, note: 'within tolerance' }, load: sum };
    return { reading: { ...base, average, ratio, desired: Math.ceil(ratio * ready.length) }, load: sum };
  }
  // Re-average as the HPA does, but for what timeouts mean here: an unanswered instance
  // counts as at target when shrinking (conservative) and, when growing, as loaded as the
  // average of those that answered, above target (a stats call that timed out most likely
  // met a saturated event loop; the HPA's "idle" would hold a saturated fleet back).
  // Starting instances count as idle when growing, damping a second scale-out while the
  // first is still coming up.
  const missingEach = ratio < 1 ? t.target : average;
  const total = sum + missing * missingEach;
  const over = ready.length + missing + (scaleUpWithUnready ? unready : 0);
  const adjusted = total / over / t.target;
  const counted = missing ? `${missing} missing at ${fmt(missingEach)}` : '0 missing';
  const note = `re-averaged over ${over} (${counted}, ${scaleUpWithUnready ? unready : 0} starting)`;
  const hold = { ...base, average, ratio: adjusted, over, desired: current, note: `${note}: no change` };
  if (withinTolerance(adjusted) || ratio > 1 !== adjusted > 1) return { reading: hold, load: total };
  const desired = Math.ceil(adjusted * over);
  if ((adjusted < 1 && desired > current) || (adjusted > 1 && desired < current))
    return { reading: hold, load: total };
  return { reading: { ...base, average, ratio: adjusted, over, desired, note }, load: total };
}

/** The replica count the step rules allow, given the changes already made in their periods. */
function stepLimit(
  rules: Required<ScaleRules>,
  current: number,
  events: readonly { at: number; delta: number }[],
  at: number,
  sign: 1 | -1,
): number {
  if (rules.select === 'disabled' || rules.steps.length === 0)
    return rules.select === 'disabled' ? current : sign * Infinity;
  const proposals = rules.steps.map((step) => {
    const moved = events
      .filter((e) => e.at > at - step.periodMs && Math.sign(e.delta) === sign)
      .reduce((acc, e) => acc + Math.abs(e.delta), 0);
    const start = current - sign * moved;
    if ('pods' in step) return start + sign * step.pods;
    return sign > 0
      ? Math.ceil(start * (1 + step.percent / 100))
      : Math.floor(start * (1 - step.percent / 100));
  });
  // For scale-up, more change is a higher cap; for scale-down, a lower floor.
  const most = sign > 0 ? Math.max(...proposals) : Math.min(...proposals);
  const least = sign > 0 ? Math.min(...proposals) : Math.max(...proposals);
  const limit = rules.select === 'max' ? most : least;
  // A period's budget that is used up stops the fleet; it never turns it around. The count
  // can be below what was decided (a failed scale, an outside change), so `start` is not
  // the real period start and the cap can come out below current: clamp, as the HPA does.
  return sign > 0 ? Math.max(limit, current) : Math.min(limit, current);
}

function explain(
  current: number,
  desired: number,
  readings: readonly SignalReading[],
  limits: readonly string[],
): string {
  const parts = readings.map((r) =>
    r.average === undefined
      ? `${r.name}: ${r.note}`
      : `${r.name} ${fmt(r.average)} vs target ${fmt(r.target)} (ratio ${r.ratio!.toFixed(2)} over ${r.over})` +
        ` → ${r.desired}${r.note ? ` [${r.note}]` : ''}`,
  );
  const verdict = desired === current ? `stay at ${current}` : `${current} → ${desired}`;
  return `${verdict}: ${parts.join('; ')}${limits.length ? `; limited by ${limits.join(', ')}` : ''}`;
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2));
