// Elastic scaling: load signals, the target-tracking policy, the autoscaler and its scalers.
// The Kubernetes client loads only when kubernetesScaler is first used.

export {
  type Autoscaler,
  type AutoscalerError,
  type AutoscalerLogger,
  type AutoscalerOptions,
  createAutoscaler,
} from './autoscaler.js';
export type { FleetCensus, FleetSignals, InstanceSignals } from './fleet.js';
export { type DeploymentScaleApi, type KubernetesScalerOptions, kubernetesScaler } from './kubernetes.js';
export { autoscalerMetrics } from './metrics.js';
export {
  type ScaleDecision,
  type ScalePolicy,
  type ScaleRules,
  type SignalName,
  type SignalReading,
  type StepLimit,
  type Target,
  type TargetTrackingOptions,
  targetTracking,
} from './policy.js';
export {
  type MemberState,
  type PoolEvent,
  type PoolMember,
  type ProcessPool,
  type ProcessPoolOptions,
  processPool,
} from './process-pool.js';
export type { ScaleOptions, Scaler } from './scaler.js';
export {
  createLoadTracker,
  type LoadSnapshot,
  type LoadTracker,
  type LoadTrackerOptions,
  STATS_SERVICE,
  StatsService,
  statsHandlers,
} from './signals.js';
export { type StatsReader, type StatsReaderOptions, statsReader } from './stats-reader.js';
export { type RunInstanceOptions, type RunningInstance, runInstance } from './worker.js';
