import type { Methods, ServiceDefinition } from '../contract/define.js';
import type { Filter } from '../core/service.js';
import { embeddedRegistry } from '../registry/embedded/client.js';
import type { Registration, Registry } from '../registry/registry.js';
import type { Handlers } from '../server/router.js';
import { createServer, type Server, type ServerOptions } from '../server/server.js';
import { createLoadTracker, type LoadTracker, StatsService, statsHandlers } from './signals.js';

/** Messages between a process pool and its children over the IPC channel. */
export type PoolMessage =
  | { tensile: 'standby' }
  | { tensile: 'ready'; id: string; address: string }
  | { tensile: 'draining'; id: string }
  | { tensile: 'activate' }
  | { tensile: 'drain' };

export const REGISTRY_URL_ENV = 'TENSILE_REGISTRY_URL';
/** Set by a process pool for a warm spare: start, then wait unregistered until activated. */
export const STANDBY_ENV = 'TENSILE_STANDBY';

export interface RunInstanceOptions<M extends Methods> {
  service: ServiceDefinition<string, M>;
  handlers: Handlers<M>;
  /** Server filters inside the load tracker (limits, shedding, auth). */
  filters?: readonly Filter[];
  server?: Omit<ServerOptions, 'filters'>;
  /** Default: the embedded registry at `registryUrl`. */
  registry?: Registry;
  /** Default: the TENSILE_REGISTRY_URL environment variable. */
  registryUrl?: string;
  host?: string;
  port?: number;
  /** Declared concurrency capacity, reported in the load snapshot. */
  capacity?: number;
  /** Runs after listening and before registering: nothing is sent here until it resolves. */
  warmup?: () => Promise<void>;
  metadata?: Record<string, string>;
  zone?: string;
  weight?: number;
  /**
   * Pause between leaving the registry and sending GOAWAY, so that clients learn of the
   * departure through their watch and stop picking this instance before it refuses new
   * calls (the preStop sleep of Kubernetes). Default 500 ms.
   */
  deregisterDelayMs?: number;
  /** Longest wait for calls in flight once draining; default 30 s. */
  graceMs?: number;
  /** Drain and exit on SIGTERM, SIGINT, a pool's drain message or the loss of the parent; default true. */
  handleSignals?: boolean;
}

export interface RunningInstance {
  readonly id: string;
  readonly address: string;
  readonly server: Server;
  readonly tracker: LoadTracker;
  readonly registration: Registration;
  /** Deregisters, waits deregisterDelayMs, then closes the server gracefully. Idempotent. */
  drain(): Promise<void>;
}

const send = (message: PoolMessage) => {
  if (process.connected) process.send?.(message);
};

/** A warm spare idles here, started but unregistered; true once the pool activates it. */
function standby(): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (activated: boolean) => {
      process.off('message', onMessage);
      process.off('disconnect', onGone);
      resolve(activated);
    };
    const onMessage = (m: PoolMessage) => {
      if (m?.tensile === 'activate') done(true);
      else if (m?.tensile === 'drain') done(false);
    };
    const onGone = () => done(false);
    process.on('message', onMessage);
    process.once('disconnect', onGone);
    send({ tensile: 'standby' });
  });
}

/**
 * Runs one scalable instance of a service: serves it with load tracking and the stats
 * service, registers it, and on the way out deregisters first, waits for clients to
 * notice, then drains. Service modules started by `processPool` call this at top level.
 */
export async function runInstance<M extends Methods>(
  options: RunInstanceOptions<M>,
): Promise<RunningInstance> {
  const tracker = createLoadTracker(options.capacity === undefined ? {} : { capacity: options.capacity });
  const server = createServer({ ...options.server, filters: [tracker.filter, ...(options.filters ?? [])] })
    .implement(options.service, options.handlers)
    .implement(StatsService, statsHandlers(tracker));
  const url = options.registryUrl ?? process.env[REGISTRY_URL_ENV];
  if (!options.registry && !url)
    throw new TypeError(`runInstance needs a registry, registryUrl or ${REGISTRY_URL_ENV}`);
  const registry = options.registry ?? embeddedRegistry({ url: url! });
  // Started with an IPC channel (by a pool). `process.send` outlives the channel, so a
  // parent that died while this module was loading still shows here.
  const managed = typeof process.send === 'function';
  let stopping = false;
  let listening: Promise<unknown> | undefined;
  let registering: Promise<Registration> | undefined;
  let draining: Promise<void> | undefined;
  const drain = () =>
    (draining ??= (async () => {
      stopping = true;
      // A registration under way is completed, then undone, so none outlives the process.
      const registration = await registering?.catch(() => undefined);
      if (registration) {
        send({ tensile: 'draining', id: registration.instance.id });
        await registration.deregister().catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, options.deregisterDelayMs ?? 500));
      }
      await listening?.catch(() => {});
      await server.close({ graceMs: options.graceMs ?? 30_000 });
      tracker.close();
      if (!options.registry) await registry.close();
    })());
  const leave = () => {
    drain().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // Installed before booting: a signal, a drain or the parent's death can come at any time.
  if (options.handleSignals ?? true) {
    process.once('SIGTERM', leave);
    process.once('SIGINT', leave);
    process.on('message', (m: PoolMessage) => m?.tensile === 'drain' && leave());
    // An orphan (its pool died) leaves rather than serving forever unmanaged.
    process.once('disconnect', leave);
    if (managed && !process.connected) leave();
  }
  // Once leaving, booting stops here; leave() ends the process.
  const stopped = () => new Promise<never>(() => {});

  const listened = server.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  listening = listened;
  const { address } = await listened;
  if (stopping) return stopped();
  await options.warmup?.();
  if (stopping) return stopped();
  if (process.env[STANDBY_ENV] === '1' && process.connected) {
    if (!(await standby())) {
      await drain();
      process.exit(0);
    }
    if (stopping) return stopped();
  }
  registering = registry.register({
    service: options.service.name,
    address,
    id: address,
    metadata: { pid: String(process.pid), ...options.metadata },
    ...(options.zone === undefined ? {} : { zone: options.zone }),
    ...(options.weight === undefined ? {} : { weight: options.weight }),
  });
  let registration: Registration;
  try {
    registration = await registering;
  } catch (err) {
    if (stopping) return stopped();
    throw err;
  }
  if (stopping) return stopped();
  const id = registration.instance.id;
  send({ tensile: 'ready', id, address });
  return { id, address, server, tracker, registration, drain };
}
