export type { Balancer } from './balancer.js';
export { type ConsistentHashOptions, consistentHash } from './consistent-hash.js';
export { isHealthy, type Routable, routable, sourceOf } from './health.js';
export { type LeastConnectionsOptions, leastConnections } from './least-connections.js';
export { type LeastResponseTimeOptions, leastResponseTime } from './least-response-time.js';
export { recordLatency, type TrackLoadOptions, trackLoad } from './load-tracking.js';
export { type P2cEwmaOptions, p2cEwma } from './p2c-ewma.js';
export { mulberry32 } from './prng.js';
export { type RandomOptions, random } from './random.js';
export { type RoundRobinOptions, roundRobin } from './round-robin.js';
export { effectiveWeight, type SlowStart, type SlowStartOptions, slowStart } from './slow-start.js';
export {
  type SmoothWeightedRoundRobinOptions,
  smoothWeightedRoundRobin,
} from './smooth-weighted-round-robin.js';
export { type WeightedRandomOptions, weightedRandom } from './weighted-random.js';
export { type ZoneAwareOptions, zoneAware } from './zone-aware.js';
