import type { Disposable } from '../core/events.js';
import type { Instance, InstanceInput, InstanceStatus } from './instance.js';

/** A live registration; its lease is renewed in the background until deregister(). */
export interface Registration {
  readonly instance: Instance;
  /** Changes the status others see (e.g. STARTING → UP, or OUT_OF_SERVICE before draining). */
  setStatus(status: InstanceStatus): Promise<void>;
  /** Removes the instance and stops renewing. Idempotent. */
  deregister(): Promise<void>;
}

/** Read side of a registry: what a client needs to find instances. */
export interface Discovery {
  /**
   * Calls `onChange` with the full current set of instances of `service` (all statuses)
   * as soon as it is known and after every change. Survives backend outages: while
   * the backend is unreachable the last set stays in force and nothing is emitted.
   */
  watch(service: string, onChange: (instances: readonly Instance[]) => void): Disposable;
}

/** One contract, many backends: memory, embedded, etcd, ZooKeeper, Eureka. */
export interface Registry extends Discovery {
  register(instance: InstanceInput): Promise<Registration>;
  /** Names of the services that have at least one instance. */
  services(): Promise<string[]>;
  /** Current instances of a service, all statuses. */
  instances(service: string): Promise<Instance[]>;
  /** Stops renewals and watches and releases connections; does not deregister. */
  close(): Promise<void>;
}
