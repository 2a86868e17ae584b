export { type BroadcastOptions, broadcast } from './broadcast.js';
export { type FailbackCluster, type FailbackEvent, type FailbackOptions, failback } from './failback.js';
export { type FailoverOptions, failover } from './failover.js';
export { type FailsafeCluster, type FailsafeOptions, failsafe, type SwallowedEvent } from './failsafe.js';
export { type ForkingOptions, forking } from './forking.js';
export { callEndpoint, failfast, pickAndCall, pickOne } from './pick.js';
