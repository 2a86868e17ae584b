import zookeeper, { type Client, type Exception, type State } from 'node-zookeeper-client';
import { exponentialBackoff } from '../policy/backoff.js';

export interface ZkSessionOptions {
  connectionString: string;
  sessionTimeoutMs: number;
  /** Upper bound of the random pause between rounds of connection attempts. */
  spinDelayMs: number;
  /** Deadline for each operation; ZooKeeper clients otherwise queue requests until reconnected. */
  opTimeoutMs: number;
  auth?: { scheme: string; credential: string };
  /** First pause before a new session after an authentication failure; it doubles up to 30 s. */
  retryMs: number;
  logger: { warn(message: string): void };
}

/** A ZooKeeper error code, or undefined for anything else (timeouts, closed sessions). */
export function zkCode(err: unknown): number | undefined {
  const code = (err as Partial<Exception> | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

export const ZkCode = zookeeper.Exception;

const MAX_AUTH_RETRY_MS = 30_000;
const AUTH_SETTLE_MS = 1_000;

/**
 * One logical ZooKeeper session that outlives session expiry: when the server
 * expires it (a partition longer than the session timeout), a new client and
 * session take its place and `onSession` listeners re-create ephemeral nodes and
 * re-arm watches, which ZooKeeper drops together with the old session.
 */
export class ZkSession {
  #client!: Client;
  #generation = 0;
  #closed = false;
  #disconnected = false;
  /** Authentication failures in a row; each waits longer before the next session. */
  #authFailures = 0;
  #retry: NodeJS.Timeout | undefined;
  #authSettle: NodeJS.Timeout | undefined;
  /** Armed while disconnected: a client that never comes back is replaced (see #onState). */
  #stall: NodeJS.Timeout | undefined;
  #abandoned: Client | undefined;
  #connected!: Promise<void>;
  readonly #listeners = new Set<() => void>();
  readonly #options: ZkSessionOptions;

  constructor(options: ZkSessionOptions) {
    this.#options = options;
    this.#open();
  }

  /** Changes every time a new session replaces an expired one. */
  get generation(): number {
    return this.#generation;
  }

  get client(): Client {
    return this.#client;
  }

  /** Resolves once the current client has a live session. */
  connected(): Promise<void> {
    return this.#connected;
  }

  /** Called after a new session replaced an expired one, and after a reconnect. */
  onSession(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #open(): void {
    const { connectionString, sessionTimeoutMs, spinDelayMs, auth } = this.#options;
    const client = zookeeper.createClient(connectionString, {
      sessionTimeout: sessionTimeoutMs,
      spinDelay: spinDelayMs,
    });
    if (auth) client.addAuthInfo(auth.scheme, Buffer.from(auth.credential));
    const generation = ++this.#generation;
    this.#client = client;
    let resolve!: () => void;
    this.#connected = new Promise((r) => {
      resolve = r;
    });
    client.on('state', (state: State) => {
      // A client closed after AUTH_FAILED still reports DISCONNECTED; nobody needs to hear it.
      if (this.#closed || generation !== this.#generation || client === this.#abandoned) return;
      this.#onState(client, state, resolve);
    });
    client.connect();
  }

  #onState(client: Client, state: State, resolve: () => void): void {
    const { State: S } = zookeeper;
    const { logger, connectionString } = this.#options;
    if (state === S.SYNC_CONNECTED) {
      clearTimeout(this.#stall);
      resolve();
      // The server reports AUTH_FAILED just after connecting: a streak ends only once a
      // connection has lasted a while without it.
      if (this.#authFailures > 0) {
        clearTimeout(this.#authSettle);
        this.#authSettle = setTimeout(() => {
          logger.warn(`zookeeper ${connectionString}: authenticated again`);
          this.#authFailures = 0;
        }, AUTH_SETTLE_MS);
        this.#authSettle.unref();
      }
      const wasDown = this.#disconnected;
      this.#disconnected = false;
      if (wasDown) logger.warn(`zookeeper ${connectionString}: reconnected`);
      if (wasDown || this.#generation > 1) this.#notify();
    } else if (state === S.DISCONNECTED) {
      if (!this.#disconnected)
        logger.warn(`zookeeper ${connectionString}: disconnected; keeping the last known state`);
      this.#disconnected = true;
      this.#armStall(client);
    } else if (state === S.EXPIRED) {
      logger.warn(`zookeeper ${connectionString}: session ${state.name}; starting a new session`);
      client.close();
      this.#disconnected = true;
      this.#open();
    } else if (state === S.AUTH_FAILED) {
      // Bad credentials stay bad: retrying at once would spin, connecting and failing in a loop.
      clearTimeout(this.#authSettle);
      const failures = this.#authFailures++;
      const delay = exponentialBackoff({
        baseMs: Math.max(1, this.#options.retryMs),
        maxMs: Math.max(MAX_AUTH_RETRY_MS, this.#options.retryMs),
        jitter: 'none',
      })(failures + 1, 0);
      if (failures === 0)
        logger.warn(`zookeeper ${connectionString}: authentication failed; retrying with backoff`);
      this.#abandoned = client;
      client.close();
      this.#disconnected = true;
      this.#retry = setTimeout(() => {
        if (!this.#closed) this.#open();
      }, delay);
      this.#retry.unref();
    }
  }

  /**
   * node-zookeeper-client can stay DISCONNECTED for good after a server restart (seen when it
   * reconnects and is dropped again while the server is still loading), and it learns of an
   * expired session only by reconnecting. Past twice the session timeout the server has
   * expired the session anyway, so nothing is lost by starting a new one: listeners then
   * re-register and re-watch, as after an expiry.
   */
  #armStall(client: Client): void {
    clearTimeout(this.#stall);
    const { sessionTimeoutMs, connectionString, logger } = this.#options;
    // Never sooner than 10 s: a server restarting on a loaded machine can take seconds, and a
    // new session too early would drop the ephemeral nodes the old one still holds.
    const limitMs = Math.max(2 * sessionTimeoutMs, 10_000);
    this.#stall = setTimeout(() => {
      if (this.#closed || client !== this.#client || !this.#disconnected) return;
      logger.warn(
        `zookeeper ${connectionString}: still disconnected after ${limitMs} ms; starting a new session`,
      );
      this.#abandoned = client;
      client.close();
      this.#open();
    }, limitMs);
    this.#stall.unref();
  }

  #notify(): void {
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch (err) {
        this.#options.logger.warn(`zookeeper session listener failed: ${(err as Error).message}`);
      }
    }
  }

  /** Runs one callback-style operation on the current client, with a deadline. */
  run<T>(
    op: (client: Client, done: (err: Error | Exception | null, result?: T) => void) => void,
  ): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('zookeeper registry is closed'));
    const { opTimeoutMs } = this.#options;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`zookeeper operation timed out after ${opTimeoutMs} ms`)),
        opTimeoutMs,
      );
      op(this.#client, (err, result) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(result as T);
      });
    });
  }

  /** The current session id, to tell our own ephemeral nodes from a previous session's. */
  sessionId(): string {
    return this.#client.getSessionId().toString('hex');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    clearTimeout(this.#authSettle);
    clearTimeout(this.#stall);
    this.#listeners.clear();
    this.#client.close();
  }
}
