export {
  bindClientMetrics,
  bindShedMetrics,
  type ClientMetricsOptions,
  type MetricsClientSource,
  type ShedMetricsEvent,
  type ShedMetricsOptions,
} from './client-metrics.js';
export type { Dashboard, DashboardOptions } from './dashboard/dashboard.js';
export type { RegistryMetricsRouteOptions } from './dashboard/metrics-route.js';
export type { AttachSources, AutoscalerSource, ClientSource } from './dashboard/sources.js';
export type {
  DashboardDelta,
  DashboardEvent,
  DashboardSnapshot,
  DecisionPoint,
  EndpointView,
  InstanceView,
  StatsSample,
} from './dashboard/types.js';
export {
  type AutoscalerMetricsOptions,
  type AutoscalerMetricsSource,
  type AutoscalerState,
  bindAutoscalerMetrics,
  bindRegistryMetrics,
  type RegistryEvent,
  type RegistryMetricsOptions,
  type ScaleEvent,
} from './event-metrics.js';
export {
  type ConsoleLoggerOptions,
  consoleLogger,
  type LogFn,
  type Logger,
  type LogLevel,
  silentLogger,
} from './logger.js';
export { memoryTracer, type RecordedSpan } from './memory-tracer.js';
export {
  type CallMetricsOptions,
  clientMetrics,
  DEFAULT_DURATION_BUCKETS,
  serverMetrics,
} from './metrics.js';
export {
  type MetricsHandlerOptions,
  type MetricsServer,
  metricsHandler,
  type ServeMetricsOptions,
  serveMetrics,
} from './metrics-http.js';
export { attemptTracing, clientTracing, serverTracing, type TracingOptions } from './tracing.js';
export { metadataGetter, metadataSetter, w3cTraceContext } from './w3c-propagator.js';
