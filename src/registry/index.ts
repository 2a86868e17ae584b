// Service registry and discovery: one contract (registry.ts), several backends.
// etcd and ZooKeeper live in their own modules so their client libraries load only when used.

export type { RegistryAccess, RegistryAuthOptions } from './embedded/access.js';
export { type EmbeddedRegistryOptions, embeddedRegistry } from './embedded/client.js';
export { HttpError } from './embedded/http-util.js';
export { type RunningRegistry, type StartRegistryOptions, startRegistry } from './embedded/server.js';
export type { SelfPreservationOptions } from './embedded/store.js';
export { type EurekaRegistryOptions, eurekaRegistry } from './eureka.js';
export type { Instance, InstanceInput, InstanceStatus } from './instance.js';
export { normalizeInstance, splitAddress } from './instance.js';
export { createMemoryStore, type MemoryRegistryOptions, type MemoryStore, memoryRegistry } from './memory.js';
export type { Discovery, Registration, Registry } from './registry.js';
