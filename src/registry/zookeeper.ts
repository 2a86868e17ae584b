import { createHash } from 'node:crypto';
import zookeeper, { type ACL, type Stat } from 'node-zookeeper-client';
import { disposable } from '../core/events.js';
import { type Instance, type InstanceInput, type InstanceStatus, normalizeInstance } from './instance.js';
import type { Registration, Registry } from './registry.js';
import { SerialQueue } from './serial.js';
import { ZkCode, ZkSession, zkCode } from './zookeeper-session.js';
import { watchService } from './zookeeper-watch.js';

export interface ZooKeeperRegistryOptions {
  /** `host:port[,host:port…][/chroot]`. */
  connectionString: string;
  /** Persistent parent znode; an instance lives at `<root>/<service>/<id>`. */
  root?: string;
  /**
   * Session timeout: how long a crashed or partitioned instance stays visible. The
   * server clamps it to [2, 20] × its tickTime unless configured otherwise.
   */
  sessionTimeoutMs?: number;
  /**
   * Digest credentials: the session authenticates with them and every znode this
   * registry creates gets an ACL giving that identity all rights and everyone else
   * read (or nothing, with `worldReadable: false`).
   */
  auth?: { scheme: 'digest'; credential: string; worldReadable?: boolean };
  /** Deadline for each ZooKeeper operation. */
  opTimeoutMs?: number;
  /** Delay between attempts to restore a registration or a watch. */
  retryMs?: number;
  logger?: { warn(message: string): void };
}

function acls(auth: ZooKeeperRegistryOptions['auth']): ACL[] {
  const { ACL, Id, Permission } = zookeeper;
  if (!auth) return [new ACL(Permission.ALL, new Id('world', 'anyone'))];
  const i = auth.credential.indexOf(':');
  if (auth.scheme !== 'digest' || i <= 0)
    throw new TypeError('auth must be { scheme: "digest", credential: "user:pass" }');
  // ZooKeeper's digest id is user:base64(sha1("user:pass")).
  const digest = createHash('sha1').update(auth.credential).digest('base64');
  const owner = new ACL(Permission.ALL, new Id('digest', `${auth.credential.slice(0, i)}:${digest}`));
  return auth.worldReadable === false
    ? [owner]
    : [owner, new ACL(Permission.READ, new Id('world', 'anyone'))];
}

const seg = encodeURIComponent;

/** A registry on ZooKeeper: one ephemeral znode per instance, under a persistent znode per service. */
export function zookeeperRegistry(options: ZooKeeperRegistryOptions): Registry {
  const root = (options.root ?? '/tensile/services').replace(/\/+$/, '');
  if (!root.startsWith('/')) throw new TypeError(`root must be an absolute znode path, got ${root}`);
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
  const retryMs = options.retryMs ?? 500;
  const logger = options.logger ?? console;
  const acl = acls(options.auth);
  const session = new ZkSession({
    connectionString: options.connectionString,
    sessionTimeoutMs,
    spinDelayMs: 250,
    opTimeoutMs: options.opTimeoutMs ?? sessionTimeoutMs,
    retryMs,
    ...(options.auth ? { auth: options.auth } : {}),
    logger,
  });
  const registrations = new Set<ZkRegistration>();
  const stops = new Set<() => void>();
  let closed = false;
  const servicePath = (service: string) => `${root}/${seg(service)}`;

  const decode = (path: string, raw: string): Instance | undefined => {
    try {
      return normalizeInstance(JSON.parse(raw));
    } catch (err) {
      logger.warn(`zookeeper: ignoring malformed instance at ${path}: ${(err as Error).message}`);
      return undefined;
    }
  };

  class ZkRegistration implements Registration {
    #instance: Instance;
    readonly #path: string;
    #closed = false;
    #restoring: Promise<void> | undefined;
    readonly #writes = new SerialQueue();

    constructor(instance: Instance) {
      this.#instance = instance;
      this.#path = `${servicePath(instance.service)}/${seg(instance.id)}`;
    }

    get instance(): Instance {
      return this.#instance;
    }

    /** Creates the ephemeral znode, or updates it if this session already owns it. */
    write(): Promise<void> {
      return this.#writes.run(async () => {
        if (this.#closed) return;
        const data = Buffer.from(JSON.stringify(this.#instance));
        const { EPHEMERAL, PERSISTENT } = zookeeper.CreateMode;
        for (let attempt = 0; ; attempt++) {
          await session.run((c, done) =>
            c.mkdirp(servicePath(this.#instance.service), acl, PERSISTENT, done),
          );
          try {
            await session.run((c, done) => c.create(this.#path, data, acl, EPHEMERAL, done));
            return;
          } catch (err) {
            // A concurrent cleanup removed the parent between mkdirp and create: go round again.
            if (zkCode(err) === ZkCode.NO_NODE && attempt < 3) continue;
            if (zkCode(err) !== ZkCode.NODE_EXISTS) throw err;
          }
          const stat = await session.run<Stat | null>((c, done) => c.exists(this.#path, done));
          if (!stat) continue;
          if (stat.ephemeralOwner.toString('hex') === session.sessionId()) {
            await session.run((c, done) => c.setData(this.#path, data, -1, done));
            return;
          }
          // Left by an earlier session of this instance (a restart before the old session expired).
          logger.warn(`zookeeper: replacing ${this.#path} owned by another session`);
          await session
            .run((c, done) => c.remove(this.#path, stat.version, done))
            .catch((e) => {
              if (zkCode(e) !== ZkCode.NO_NODE && zkCode(e) !== ZkCode.BAD_VERSION) throw e;
            });
        }
      });
    }

    /** Retries the write until it succeeds: after a session expiry or a failed update. */
    restore(): void {
      this.#restoring ??= (async () => {
        while (!this.#closed && !closed) {
          try {
            await session.connected();
            await this.write();
            return;
          } catch (err) {
            logger.warn(`zookeeper: re-registering ${this.#path} failed: ${(err as Error).message}`);
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
        this.restore();
        throw err;
      }
    }

    async deregister(): Promise<void> {
      if (this.#closed) return;
      this.#closed = true;
      registrations.delete(this);
      await this.#writes.idle();
      try {
        await session.run((c, done) => c.remove(this.#path, -1, done));
      } catch (err) {
        if (zkCode(err) === ZkCode.NO_NODE) return;
        logger.warn(
          `zookeeper: removing ${this.#path} failed (${(err as Error).message}); it goes with the session`,
        );
      }
    }

    release(): void {
      this.#closed = true;
    }
  }

  // A new session (after expiry) has none of the old ephemeral znodes: put ours back.
  // After a plain reconnect this only re-confirms them (setData on our own node).
  session.onSession(() => {
    for (const registration of registrations) registration.restore();
  });

  return {
    async register(input: InstanceInput): Promise<Registration> {
      if (closed) throw new Error('zookeeper registry is closed');
      const registration = new ZkRegistration(normalizeInstance(input));
      await registration.write();
      registrations.add(registration);
      return registration;
    },

    watch(service, onChange) {
      const stop = watchService({
        session,
        path: servicePath(service),
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
      try {
        const children = await session.run<string[]>((c, done) => c.getChildren(root, done));
        const counts = await Promise.all(
          children.map((child) =>
            session.run<Stat | null>((c, done) => c.exists(`${root}/${child}`, done)).catch(() => null),
          ),
        );
        // Service znodes are persistent and outlive their last instance; list only live ones.
        return children
          .filter((_, i) => (counts[i]?.numChildren ?? 0) > 0)
          .map(decodeURIComponent)
          .sort();
      } catch (err) {
        if (zkCode(err) === ZkCode.NO_NODE) return [];
        throw err;
      }
    },

    async instances(service) {
      const path = servicePath(service);
      let children: string[];
      try {
        children = await session.run<string[]>((c, done) => c.getChildren(path, done));
      } catch (err) {
        if (zkCode(err) === ZkCode.NO_NODE) return [];
        throw err;
      }
      const found = await Promise.all(
        children.map(async (child) => {
          try {
            const buf = await session.run<Buffer>((c, done) => c.getData(`${path}/${child}`, done));
            return decode(`${path}/${child}`, buf?.toString() ?? '');
          } catch (err) {
            if (zkCode(err) === ZkCode.NO_NODE) return undefined;
            throw err;
          }
        }),
      );
      return found.filter((i): i is Instance => i !== undefined).sort((a, b) => (a.id < b.id ? -1 : 1));
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const stop of stops) stop();
      stops.clear();
      for (const registration of registrations) registration.release();
      registrations.clear();
      // Closing the session removes its ephemeral znodes at once, as ZooKeeper intends.
      session.close();
    },
  };
}
