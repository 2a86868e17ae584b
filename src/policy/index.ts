export {
  type Backoff,
  constantBackoff,
  type ExponentialBackoffOptions,
  exponentialBackoff,
} from './backoff.js';
export {
  type BreakEvent,
  type BreakerEvents,
  type BreakerOptions,
  type BreakerState,
  type BreakerStateEvent,
  CircuitBreaker,
  type CircuitBreakerFilter,
  circuitBreaker,
} from './breaker.js';
export { type RetryBudget, type RetryBudgetOptions, retryBudget, unlimitedBudget } from './budget.js';
export { type BulkheadFilter, type BulkheadOptions, bulkhead } from './bulkhead.js';
export {
  abandonedAsSlow,
  classifyAttempt,
  FAILURE_CODES,
  type FailureClassifier,
  isAbandonedAsSlow,
  isFailure,
  isLocalRejection,
  isSafeToRetry,
  RETRYABLE_CODES,
  type ShedEvent,
  shouldRetry,
} from './classify.js';
export { type Clock, systemClock } from './clock.js';
export * from './cluster/index.js';
export { type AttemptTimeoutOptions, attemptTimeout, type TimeoutOptions, timeout } from './deadline.js';
export {
  type ClientPolicies,
  type ClientPolicyEvents,
  type ClientPolicyOptions,
  defaultClientPolicies,
} from './defaults.js';
export { type EndpointBreakerFactory, endpointBreaker } from './endpoint-breaker.js';
export {
  type FallbackEvent,
  type FallbackFilter,
  type FallbackOptions,
  type FallbackSource,
  fallback,
} from './fallback.js';
export { type HedgeEvent, type HedgeFilter, type HedgeOptions, hedge } from './hedge.js';
export {
  type EjectEvent,
  type OutlierDetector,
  type OutlierOptions,
  outlierDetection,
  type UnejectEvent,
} from './outlier.js';
export { reportPick, withPickSink } from './pick-sink.js';
export { type RateLimitFilter, type RateLimitOptions, rateLimit } from './rate-limit.js';
export {
  type GiveUpEvent,
  type GiveUpReason,
  type RetryEvent,
  type RetryFilter,
  type RetryOptions,
  retry,
} from './retry.js';
export {
  type AdaptiveLimitFilter,
  type AdaptiveLimitOptions,
  adaptiveConcurrency,
  type LimitEvent,
} from './shedding.js';
export { type AdaptiveThrottleFilter, type AdaptiveThrottleOptions, adaptiveThrottle } from './throttle.js';
