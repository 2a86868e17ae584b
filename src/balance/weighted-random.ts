import { honourAvoid } from './avoid.js';
import type { Balancer } from './balancer.js';
import type { SlowStart } from './slow-start.js';
import { memoBySet } from './snapshot.js';
import { WeightTable } from './weights.js';

export interface WeightedRandomOptions {
  random?: () => number;
  /** Ramp new endpoints' weights in (see slow-start.ts). */
  slowStart?: SlowStart;
}

/** Random in proportion to instance weight: a binary search over cumulative weights, O(log n). */
export function weightedRandom(options: WeightedRandomOptions = {}): Balancer {
  const rand = options.random ?? Math.random;
  const table = memoBySet((endpoints) => new WeightTable(endpoints, options.slowStart));
  return {
    name: 'weighted-random',
    pick: honourAvoid((endpoints) => {
      const t = table(endpoints);
      t.refresh();
      return endpoints[t.find(rand() * t.total)]!;
    }),
  };
}
