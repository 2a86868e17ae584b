import { Etcd3, GRPCUnavailableError, type IOptions, isRecoverableError, type Lease } from 'etcd3';
import { disposable } from '../core/events.js';
import { exponentialBackoff } from '../policy/backoff.js';
import { watchPrefix } from './etcd-watch.js';
import { type Instance, type InstanceInput, type InstanceStatus, normalizeInstance } from './instance.js';
import type { Registration, Registry } from './registry.js';
import { SerialQueue } from './serial.js';

export interface EtcdRegistryOptions {
  /** `host:port` of one or more etcd members (`https://` for TLS). */
  hosts: string | string[];
  /** Key prefix; an instance lives at `<prefix>/<service>/<id>`. */
  prefix?: string;
  /** Lease TTL: how long a crashed instance stays visible. Rounded up to whole seconds, at least 1 s. */
  ttlMs?: number;
  /** etcd user, when etcd runs with authentication enabled. */
  credentials?: { username: string; password: string };
  /** Deadline for each unary etcd call. */
  callTimeoutMs?: number;
  /** Delay between attempts to restore a lost lease or a failed watch. */
  retryMs?: number;
  logger?: { warn(message: string): void };
  /** Extra options for the etcd3 client (TLS, gRPC options). */
  client?: Partial<IOptions>;
}

type FaultHandling = NonNullable<IOptions['faultHandling']>;
type HostPolicy = ReturnType<NonNullable<FaultHandling['host']>>;
type WatchBackoff = NonNullable<FaultHandling['watchBackoff']>;

/**
 * etcd3 puts each host behind a breaker that stays open 5 s after 3 failures, which
 * delays recovery after an etcd restart by up to 5 s. With one host there is nowhere
 * else to go, so calls go straight through; with several, a failed host is skipped
 * for `skipMs` so the pool tries the next one.
 */
function hostPolicy(hostCount: number, skipMs: number): HostPolicy {
  let skipUntil = 0;
  const execute = async <T>(fn: (ctx: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> => {
    if (hostCount > 1 && Date.now() < skipUntil) throw new GRPCUnavailableError('host recently failed');
    try {
      const result = await fn({ signal: new AbortController().signal });
      skipUntil = 0;
      return result;
    } catch (err) {
      if (err instanceof Error && isRecoverableError(err)) skipUntil = Date.now() + skipMs;
      throw err;
    }
  };
  return { execute } as unknown as HostPolicy;
}

/** Watch reconnects: 50 ms doubling to 1 s with jitter, instead of etcd3's 30 s cap. */
const watchDelay = exponentialBackoff({ baseMs: 50, maxMs: 1000, jitter: 'equal' });

function watchBackoff(attempt = 0): WatchBackoff {
  return {
    duration: watchDelay(attempt + 1, 0),
    next: () => watchBackoff(attempt + 1),
  } as WatchBackoff;
}

const seg = encodeURIComponent;

/** A registry on etcd: one key per instance, bound to a lease kept alive in the background. */
export function etcdRegistry(options: EtcdRegistryOptions): Registry {
  const prefix = (options.prefix ?? '/tensile/services').replace(/\/+$/, '');
  const ttlSeconds = Math.max(1, Math.ceil((options.ttlMs ?? 10_000) / 1000));
  const callTimeoutMs = options.callTimeoutMs ?? 5000;
  const retryMs = options.retryMs ?? 500;
  const logger = options.logger ?? console;
  const hosts = typeof options.hosts === 'string' ? [options.hosts] : options.hosts;
  const client = new Etcd3({
    hosts,
    ...(options.credentials ? { auth: { ...options.credentials } } : {}),
    // Without a deadline a call to an unreachable etcd can wait forever.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    faultHandling: { host: () => hostPolicy(hosts.length, 1000), watchBackoff: watchBackoff() },
    ...options.client,
    grpcOptions: {
      // gRPC's default reconnect backoff grows to 2 minutes; a registry must notice etcd's return sooner.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      ...options.client?.grpcOptions,
    },
  });
  const registrations = new Set<EtcdRegistration>();
  const stops = new Set<() => void>();

  const decode = (key: string, value: string): Instance | undefined => {
    try {
      return normalizeInstance(JSON.parse(value));
    } catch (err) {
      logger.warn(`etcd: ignoring malformed instance at ${key}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const servicePrefix = (service: string) => `${prefix}/${seg(service)}/`;

  class EtcdRegistration implements Registration {
    #instance: Instance;
    readonly #key: string;
    #lease: Lease | undefined;
    #restoring: Promise<void> | undefined;
    #closed = false;
    /** Writes run one at a time so a later status can never be overtaken by an earlier one. */
    readonly #writes = new SerialQueue();

    constructor(instance: Instance) {
      this.#instance = instance;
      this.#key = servicePrefix(instance.service) + seg(instance.id);
    }

    get instance(): Instance {
      return this.#instance;
    }

    /** Grants a lease if there is none and writes the instance under it. */
    write(): Promise<void> {
      return this.#writes.run(async () => {
        if (this.#closed) return;
        if (!this.#lease) {
          const lease = client.lease(ttlSeconds, { autoKeepAlive: true });
          lease.on('lost', (err) => this.#lost(lease, err));
          this.#lease = lease;
        }
        await this.#lease.put(this.#key).value(JSON.stringify(this.#instance)).exec();
      });
    }

    #lost(lease: Lease, err: Error): void {
      if (this.#lease !== lease || this.#closed) return;
      this.#lease = undefined;
      lease.release();
      logger.warn(`etcd lease of ${this.#key} lost (${err.message}); registering again`);
      this.restore();
    }

    /** Retries the write until it succeeds: after a lease loss or a failed status update. */
    restore(): void {
      this.#restoring ??= (async () => {
        while (!this.#closed) {
          try {
            await this.write();
            return;
          } catch (err) {
            if (!this.#closed)
              logger.warn(`etcd: re-registering ${this.#key} failed: ${(err as Error).message}`);
            await new Promise((r) => setTimeout(r, retryMs));
          }
        }
      })().finally(() => {
        this.#restoring = undefined;
      });
    }

    async setStatus(status: InstanceStatus): Promise<void> {
      this.#instance = { ...this.#instance, status };
      try {
        await this.write();
      } catch (err) {
        // The new status is applied once etcd answers again; the caller still hears of the failure.
        this.restore();
        throw err;
      }
    }

    async deregister(): Promise<void> {
      if (this.#closed) return;
      this.#closed = true;
      registrations.delete(this);
      const lease = this.#lease;
      this.#lease = undefined;
      await this.#writes.idle();
      try {
        // Revoking deletes the key at once; if etcd is unreachable the lease simply expires.
        await lease?.revoke();
      } catch (err) {
        logger.warn(
          `etcd: revoking ${this.#key} failed (${(err as Error).message}); it expires in ${ttlSeconds}s`,
        );
      }
    }

    /** Stops keep-alives without revoking: the key expires with its lease. */
    release(): void {
      this.#closed = true;
      this.#lease?.release();
      this.#lease = undefined;
    }
  }

  return {
    async register(input: InstanceInput): Promise<Registration> {
      const registration = new EtcdRegistration(normalizeInstance(input));
      await registration.write().catch(async (err) => {
        registration.release();
        throw err;
      });
      registrations.add(registration);
      return registration;
    },

    watch(service, onChange) {
      const stop = watchPrefix({
        client,
        prefix: servicePrefix(service),
        service,
        decode,
        onChange,
        logger,
        retryMs,
      });
      stops.add(stop);
      return disposable(() => {
        stops.delete(stop);
        stop();
      });
    },

    async services() {
      const keys = await client.getAll().prefix(`${prefix}/`).keys();
      const names = keys.map((k) => k.slice(prefix.length + 1).split('/')[0]!).map(decodeURIComponent);
      return [...new Set(names)].sort();
    },

    async instances(service) {
      const kvs = await client.getAll().prefix(servicePrefix(service)).strings();
      return Object.entries(kvs)
        .map(([key, value]) => decode(key, value))
        .filter((i): i is Instance => i !== undefined)
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },

    async close() {
      for (const stop of stops) stop();
      stops.clear();
      for (const registration of registrations) registration.release();
      registrations.clear();
      client.close();
    },
  };
}
