import type { Endpoint } from '../client/endpoint-types.js';
import { baseWeight, type SlowStart } from './slow-start.js';

/**
 * Effective weights of one endpoint snapshot, index-aligned with it. Without slow start they
 * are computed once; while an endpoint is still ramping they are recomputed at most every 1 %
 * of the window, so a pick stays O(1) amortised instead of evaluating the ramp per endpoint.
 */
export class WeightTable {
  readonly values: Float64Array;
  /** values[0] + … + values[i], for binary search. */
  readonly cumulative: Float64Array;
  total = 0;
  /** Bumped whenever the values change, so dependants can reset derived state. */
  version = 0;
  private readonly base: Float64Array;
  private warmUntil = Number.NEGATIVE_INFINITY;
  private computedAt = Number.NEGATIVE_INFINITY;
  private readonly refreshMs: number;

  constructor(
    readonly endpoints: readonly Endpoint[],
    private readonly ramp?: SlowStart,
  ) {
    const n = endpoints.length;
    this.values = new Float64Array(n);
    this.cumulative = new Float64Array(n);
    this.base = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += this.base[i] = baseWeight(endpoints[i]!);
    // All weights zero would make every weighted algorithm refuse to pick; treat them as equal.
    if (sum === 0) this.base.fill(1);
    if (ramp) {
      for (const e of endpoints) this.warmUntil = Math.max(this.warmUntil, e.firstSeenMs + ramp.windowMs);
    }
    this.refreshMs = ramp ? ramp.windowMs / 100 : Number.POSITIVE_INFINITY;
    this.compute(ramp ? ramp.now() : 0);
  }

  /** True while some endpoint is still ramping up at `now`. */
  warming(now: number): boolean {
    return now < this.warmUntil;
  }

  /** Brings ramping weights up to date; cheap no-op once every endpoint is warm. */
  refresh(): void {
    const ramp = this.ramp;
    if (ramp === undefined || this.computedAt >= this.warmUntil) return;
    const now = ramp.now();
    if (now - this.computedAt >= this.refreshMs || now >= this.warmUntil) this.compute(now);
  }

  /** Index of the endpoint owning `point` in [0, total). */
  find(point: number): number {
    const c = this.cumulative;
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid]! > point) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private compute(now: number): void {
    const { endpoints, base, values, cumulative, ramp } = this;
    let sum = 0;
    for (let i = 0; i < endpoints.length; i++) {
      const w = base[i]!;
      values[i] = ramp === undefined || w === 0 ? w : w * ramp.factor(endpoints[i]!, now);
      cumulative[i] = sum += values[i]!;
    }
    if (sum === 0) {
      // A zero floor at t = 0 ramps everything to nothing; fall back to the configured weights.
      values.set(base);
      for (let i = 0; i < values.length; i++) cumulative[i] = sum += values[i]!;
    }
    this.total = sum;
    this.computedAt = now;
    this.version++;
  }
}
