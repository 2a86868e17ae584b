import { honourAvoid } from './avoid.js';
import type { Balancer } from './balancer.js';

export interface RandomOptions {
  /** Uniform in [0, 1); default Math.random. Inject a seeded one (mulberry32) in tests. */
  random?: () => number;
}

/** Uniformly random: stateless, so it is the baseline the smarter algorithms are measured against. */
export function random(options: RandomOptions = {}): Balancer {
  const rand = options.random ?? Math.random;
  return {
    name: 'random',
    pick: honourAvoid((endpoints) => endpoints[Math.floor(rand() * endpoints.length)]!),
  };
}
