import type { Endpoint } from '../client/endpoint-types.js';
import { honourAvoid } from './avoid.js';
import type { Balancer } from './balancer.js';
import type { SlowStart } from './slow-start.js';
import { memoBySet } from './snapshot.js';
import { WeightTable } from './weights.js';

export interface SmoothWeightedRoundRobinOptions {
  /** Ramp new endpoints' weights in (see slow-start.ts). */
  slowStart?: SlowStart;
}

/** Longest period recorded for replay; beyond it the O(n) step runs on every pick. */
const MAX_PERIOD = 1 << 16;

/**
 * nginx's smooth weighted round-robin: every pick adds each weight to its endpoint's running
 * value, takes the largest and subtracts the total from it. Weights 5,1,1 give a a b a c a a,
 * interleaving light endpoints instead of bursting the heavy one.
 *
 * The step is O(n). With integer weights the sequence repeats with a period of their sum, so
 * the first period is recorded as it is computed and later picks replay it in O(1). While slow
 * start is ramping (fractional, changing weights) every pick runs the step.
 */
export function smoothWeightedRoundRobin(options: SmoothWeightedRoundRobinOptions = {}): Balancer {
  const state = memoBySet((endpoints) => new Schedule(endpoints, options.slowStart));
  return {
    name: 'smooth-weighted-round-robin',
    pick: honourAvoid((endpoints) => endpoints[state(endpoints).next()]!),
  };
}

class Schedule {
  private readonly table: WeightTable;
  private readonly current: Float64Array;
  private version = -1;
  private recording: Uint32Array | undefined;
  private recorded = 0;
  private position = 0;

  constructor(endpoints: readonly Endpoint[], ramp: SlowStart | undefined) {
    this.table = new WeightTable(endpoints, ramp);
    this.current = new Float64Array(endpoints.length);
  }

  next(): number {
    const table = this.table;
    table.refresh();
    if (table.version !== this.version) this.reweigh();
    const recording = this.recording;
    if (recording !== undefined && this.recorded === recording.length) {
      const i = recording[this.position]!;
      this.position = this.position + 1 === recording.length ? 0 : this.position + 1;
      return i;
    }
    const i = this.step();
    if (recording !== undefined) recording[this.recorded++] = i;
    return i;
  }

  private step(): number {
    const { current } = this;
    const { values, total } = this.table;
    let best = 0;
    for (let i = 0; i < current.length; i++) {
      current[i]! += values[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    return best;
  }

  /** New weights: record a fresh period when they are replayable; otherwise keep stepping smoothly. */
  private reweigh(): void {
    this.version = this.table.version;
    const { values, total } = this.table;
    const replayable = total <= MAX_PERIOD && values.every(Number.isInteger);
    this.recording = replayable ? new Uint32Array(total) : undefined;
    this.recorded = 0;
    this.position = 0;
    // The period starts from all-zero running values; without replay, carrying them over
    // keeps the interleaving smooth across a slow-start weight change.
    if (replayable) this.current.fill(0);
  }
}
