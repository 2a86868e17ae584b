import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import type { Methods, ServiceDefinition } from '../contract/define.js';
import { MAX_TIMER_MS } from '../core/context.js';
import type { Filter } from '../core/service.js';
import { type InstanceInput, joinHostPort, splitAddress } from '../registry/instance.js';
import type { Registration, Registry } from '../registry/registry.js';
import { type PeerIdentity, peerIdentityOf } from '../security/peer.js';
import { reloadServerTls, type ServerTlsOptions, serverTlsContext } from '../security/tls-options.js';
import { type Codec, defaultCodecs } from '../wire/codec.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../wire/frame.js';
import { Admission } from './admission.js';
import { connectionGuard } from './guard.js';
import { type Handlers, Router } from './router.js';
import { ServerConnection } from './server-connection.js';

export interface ServerOptions {
  /** Server filters, outermost first (auth, limits, shedding, metrics). */
  filters?: readonly Filter[];
  /** Codecs a client may choose; default JSON and MessagePack. */
  codecs?: readonly Codec[];
  /** Largest frame accepted, checked from the length prefix (default 4 MiB). */
  maxFrameBytes?: number;
  /** Calls in flight per connection before RESOURCE_EXHAUSTED (default 1024). */
  maxConcurrentCallsPerConnection?: number;
  /** Time a new connection has to complete the TLS and Tensile handshakes (default 10 s; at most 2^31-1). */
  handshakeTimeoutMs?: number;
  /** A connection without calls in flight and without traffic this long gets GOAWAY and closes (default 5 min; 0 = never; at most 2^31-1). */
  idleTimeoutMs?: number;
  /** Open connections (including ones still handshaking) before new ones are refused (default 10,000). */
  maxConnections?: number;
  /** Total bytes of request metadata keys and values before RESOURCE_EXHAUSTED (default 16 KiB). */
  maxMetadataBytes?: number;
  /** Send handler exception messages and stacks to callers (default false: never leak internals). */
  exposeErrors?: boolean;
  /** Sees every non-RpcError a handler throws, for logging. */
  onHandlerError?: (err: unknown, method: string) => void;
}

export interface ListenOptions {
  host?: string;
  port?: number;
  /** Serve over TLS (mTLS when `ca` is given); handlers see the caller in `ctx.peerIdentity`. */
  tls?: ServerTlsOptions;
  /** Register every implemented service once listening; deregistered first thing on close. */
  register?: RegisterOptions;
}

export interface RegisterOptions extends Partial<Omit<InstanceInput, 'service' | 'address' | 'id'>> {
  registry: Registry;
  /** Host other processes use to reach this server (default: the listen host). */
  advertiseHost?: string;
  /** Instance id prefix (default `host:port`); the service name is appended when several are served. */
  id?: string;
}

export interface Server {
  implement<M extends Methods>(def: ServiceDefinition<string, M>, handlers: Handlers<M>): Server;
  listen(options?: ListenOptions): Promise<{ host: string; port: number; address: string }>;
  /** Stops accepting, sends GOAWAY, lets calls in flight finish for up to graceMs, then closes. */
  close(options?: { graceMs?: number }): Promise<void>;
  /**
   * Replaces the TLS certificate (and CA, …) without a restart: new connections get the new
   * context, open ones keep theirs. Fields not given keep their current values; giving or
   * removing `ca` (or `requestCert`, `rejectUnauthorized`) turns client certificates on or off.
   */
  reloadTls(tls: Partial<ServerTlsOptions>): void;
  /** `host:port` once listening. */
  readonly address: string | undefined;
  readonly connections: number;
  readonly inflight: number;
  readonly methods: string[];
  /** Live registrations made by listen({ register }). */
  readonly registrations: readonly Registration[];
}

/**
 * Once the server ends a connection (bad hello, idle, drained), the peer has this long, or the
 * handshake timeout if shorter, to close its side before the socket is destroyed.
 */
const MAX_CLOSE_LINGER_MS = 5_000;

export function createServer(options: ServerOptions = {}): Server {
  const guard = connectionGuard({ maxMetadataBytes: options.maxMetadataBytes ?? 16 * 1024 });
  const router = new Router([guard, ...(options.filters ?? [])]);
  const codecs = new Map((options.codecs ?? defaultCodecs()).map((c) => [c.name, c]));
  const limit = (value: number | undefined, fallback: number, what: string, min = 1, max = 0xffffffff) => {
    const n = value ?? fallback;
    if (!Number.isInteger(n) || n < min || n > max)
      throw new RangeError(`${what} must be an integer in ${min}..${max}, got ${n}`);
    return n;
  };
  // Timers: Node fires a delay above 2^31-1 ms after 1 ms, and socket.setTimeout throws on one.
  const handshakeTimeoutMs = limit(options.handshakeTimeoutMs, 10_000, 'handshakeTimeoutMs', 1, MAX_TIMER_MS);
  const connOptions = {
    codecs,
    maxFrameBytes: limit(options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, 'maxFrameBytes'),
    maxConcurrentCalls: limit(
      options.maxConcurrentCallsPerConnection,
      1024,
      'maxConcurrentCallsPerConnection',
    ),
    handshakeTimeoutMs,
    closeLingerMs: Math.min(handshakeTimeoutMs, MAX_CLOSE_LINGER_MS),
    exposeErrors: options.exposeErrors ?? false,
    onHandlerError: options.onHandlerError,
  };
  const idleTimeoutMs = limit(options.idleTimeoutMs, 300_000, 'idleTimeoutMs (0 = never)', 0, MAX_TIMER_MS);
  const admission = new Admission(limit(options.maxConnections, 10_000, 'maxConnections'));
  const connections = new Set<ServerConnection>();
  let net: NetServer | undefined;
  let tlsServer: TlsServer | undefined;
  let tlsOptions: ServerTlsOptions | undefined;
  let address: string | undefined;
  let closing: Promise<void> | undefined;
  const services = new Set<string>();
  const registrations: Registration[] = [];

  const accept = (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    let identity: PeerIdentity | undefined;
    // handshakeTimeoutMs covers the TLS and the Tensile handshake together.
    let handshakeLeftMs = handshakeTimeoutMs;
    if (tlsServer) {
      handshakeLeftMs -= admission.secured(socket);
      identity = peerIdentityOf(socket as TLSSocket);
    }
    const conn = new ServerConnection(socket, router, connOptions, identity, handshakeLeftMs);
    connections.add(conn);
    if (idleTimeoutMs > 0) {
      // Socket timeouts count any traffic; a connection waiting on a long call is not idle.
      socket.setTimeout(idleTimeoutMs, () => conn.idle());
    }
    conn.closed.then(() => connections.delete(conn));
  };

  const server: Server = {
    implement(def, handlers) {
      router.add(def, handlers);
      services.add(def.name);
      return server;
    },
    async listen({ host = '127.0.0.1', port = 0, tls, register } = {}) {
      if (net) throw new Error('server is already listening');
      if (tls) {
        const context = serverTlsContext(tls);
        tlsOptions = tls;
        tlsServer = createTlsServer(
          { ...context, handshakeTimeout: connOptions.handshakeTimeoutMs, noDelay: true },
          accept,
        );
        // Failed or timed-out TLS handshakes (wrong CA, scanners, slowloris): drop them, keep serving.
        tlsServer.on('tlsClientError', (_err, socket) => socket.destroy());
        tlsServer.on('connection', (raw: Socket) => admission.admit(raw, false));
        net = tlsServer;
      } else {
        net = createNetServer({ noDelay: true }, (raw) => {
          if (admission.admit(raw, true)) accept(raw);
        });
      }
      const listening = net;
      try {
        await new Promise<void>((resolve, reject) => {
          listening.once('error', reject);
          listening.listen(port, host, () => {
            listening.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        // EADDRINUSE and friends: leave nothing behind, so listen() can be retried.
        net = tlsServer = tlsOptions = undefined;
        throw err;
      }
      const bound = listening.address();
      if (!bound || typeof bound === 'string') throw new Error('unexpected listen address');
      address = joinHostPort(host, bound.port);
      if (register) await registerAll(register, bound.port);
      return { host, port: bound.port, address };
    },
    close({ graceMs = 10_000 } = {}) {
      closing ??= (async () => {
        // Leave the registry before draining, so no new client picks this instance.
        await Promise.allSettled(registrations.splice(0).map((r) => r.deregister()));
        const listening = net;
        const stopped = listening
          ? new Promise<void>((resolve) => listening.close(() => resolve()))
          : Promise.resolve();
        // Sockets still in their TLS handshake would hold net.close() for up to handshakeTimeoutMs.
        admission.destroyTlsHandshakes();
        for (const conn of connections) conn.drain();
        const allClosed = Promise.all([...connections].map((c) => c.closed));
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), graceMs);
        });
        if ((await Promise.race([allClosed, grace])) === 'timeout') {
          for (const conn of connections) conn.terminate();
          await allClosed;
        }
        clearTimeout(timer);
        await stopped;
      })();
      return closing;
    },
    reloadTls(tls) {
      if (!tlsServer || !tlsOptions) throw new Error('reloadTls needs a server listening with tls');
      const next = { ...tlsOptions, ...tls };
      reloadServerTls(tlsServer, next);
      tlsOptions = next;
    },
    get address() {
      return address;
    },
    get connections() {
      return connections.size;
    },
    get inflight() {
      let n = 0;
      for (const c of connections) n += c.inflight;
      return n;
    },
    get methods() {
      return router.methods();
    },
    get registrations() {
      return registrations;
    },
  };
  async function registerAll({ registry, advertiseHost, id, ...instance }: RegisterOptions, port: number) {
    const host = advertiseHost ?? splitAddress(address ?? '').host;
    const advertised = joinHostPort(host, port);
    for (const service of services) {
      const instanceId = services.size === 1 ? (id ?? advertised) : `${id ?? advertised}/${service}`;
      registrations.push(
        await registry.register({ ...instance, service, address: advertised, id: instanceId }),
      );
    }
  }

  return server;
}
