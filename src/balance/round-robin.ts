import { honourAvoid } from './avoid.js';
import type { Balancer } from './balancer.js';

export interface RoundRobinOptions {
  /** Chooses the starting position; default Math.random. */
  random?: () => number;
}

/**
 * Each endpoint in turn. The rotation starts at a random position so that many clients
 * started together do not all send their first call to the same instance.
 */
export function roundRobin(options: RoundRobinOptions = {}): Balancer {
  let next = Math.floor((options.random ?? Math.random)() * 2 ** 31);
  return {
    name: 'round-robin',
    pick: honourAvoid((endpoints) => {
      // Modulo on read keeps the position valid when the set shrinks.
      const i = next % endpoints.length;
      next = i + 1;
      return endpoints[i]!;
    }),
  };
}
