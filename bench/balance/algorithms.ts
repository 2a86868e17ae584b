import type { Balancer } from '../../src/balance/balancer.js';
import {
  consistentHash,
  leastConnections,
  leastResponseTime,
  p2cEwma,
  random,
  roundRobin,
  smoothWeightedRoundRobin,
  weightedRandom,
  zoneAware,
} from '../../src/balance/index.js';

export interface Algorithm {
  name: string;
  balancer: () => Balancer;
  /** Only these instances are discovered (reference rows); default all. */
  only?: (ids: readonly string[], slowId: string) => string[];
}

/** The zone the benchmark's client runs in; fleet.ts puts the slow instance there too. */
export const CLIENT_ZONE = 'z1';

/**
 * Every algorithm with its defaults, as a user would configure it. All instances have weight
 * 1, so the weighted ones have nothing to go on but are measured as configured. The reference
 * row is round-robin over the fast instances only: what a perfect balancer could reach.
 */
export const ALGORITHMS: readonly Algorithm[] = [
  { name: 'round-robin', balancer: () => roundRobin() },
  { name: 'random', balancer: () => random() },
  { name: 'weighted-random', balancer: () => weightedRandom() },
  { name: 'smooth-weighted-rr', balancer: () => smoothWeightedRoundRobin() },
  { name: 'least-connections', balancer: () => leastConnections() },
  { name: 'least-response-time', balancer: () => leastResponseTime() },
  { name: 'p2c-ewma', balancer: () => p2cEwma() },
  { name: 'consistent-hash', balancer: () => consistentHash() },
  { name: 'consistent-hash-bounded', balancer: () => consistentHash({ boundedLoad: 1.25 }) },
  { name: 'zone-aware(p2c-ewma)', balancer: () => zoneAware({ zone: CLIENT_ZONE, inner: p2cEwma() }) },
  {
    name: 'reference: rr over fast only',
    balancer: () => roundRobin(),
    only: (ids, slowId) => ids.filter((id) => id !== slowId),
  },
];
