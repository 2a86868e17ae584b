// Public API: re-exports only.

export type { Balancer } from './balance/balancer.js';
// Load balancing, resilience policies, registries, elastic scaling and security.
export * from './balance/index.js';
export type { ReconnectBackoff } from './client/backoff.js';
export {
  type CallOptions,
  type Client,
  type ClientEvents,
  type ClientOptions,
  createClient,
  type PanicEvent,
} from './client/client.js';
export type {
  Cluster,
  Directory,
  Endpoint,
  EndpointFilterFactory,
  EndpointLoad,
  EndpointStatus,
} from './client/endpoint-types.js';
export { staticDiscovery } from './client/static-discovery.js';
export {
  defineService,
  type InputOf,
  type Methods,
  type OutputOf,
  type Schema,
  type ServiceDefinition,
  type TypeOnly,
  type,
  type UnaryMethod,
  unary,
} from './contract/define.js';
export { type ValidationIssue, validate } from './contract/validate.js';
export type { CallContext, Metadata } from './core/context.js';
export {
  earliestDeadline,
  listenAbort,
  NEVER_ABORTED,
  remainingMs,
  unlistenAbort,
  withContext,
} from './core/context.js';
export {
  isRpcError,
  RpcError,
  type RpcErrorOptions,
  Status,
  type StatusCode,
  toRpcError,
} from './core/errors.js';
export {
  createEmitter,
  type Disposable,
  disposable,
  type Emitter,
  type Event,
  type Listener,
} from './core/events.js';
export { compose, type Filter, type Service } from './core/service.js';
export * from './policy/index.js';
export * from './registry/index.js';
export type { Instance, InstanceInput, InstanceStatus } from './registry/instance.js';
export type { Discovery, Registration, Registry } from './registry/registry.js';
export * from './scale/index.js';
export * from './security/index.js';
export type { Handlers } from './server/router.js';
export { createServer, type ListenOptions, type Server, type ServerOptions } from './server/server.js';
export { type Codec, jsonCodec, msgpackCodec } from './wire/codec.js';
export { ProtocolError } from './wire/frame.js';
