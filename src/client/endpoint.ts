import type { CallContext } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import { compose, type Service } from '../core/service.js';
import type { Instance } from '../registry/instance.js';
import type { ClientTlsOptions } from '../security/tls-options.js';
import type { Codec } from '../wire/codec.js';
import { type ReconnectBackoff, reconnectDelays } from './backoff.js';
import { Connection } from './connection.js';
import {
  type Endpoint,
  type EndpointFilterFactory,
  type EndpointLoad,
  type EndpointStatus,
  newLoad,
} from './endpoint-types.js';

export interface EndpointOptions {
  codec: Codec;
  endpointFilters: readonly EndpointFilterFactory[];
  connectTimeoutMs: number;
  maxFrameBytes: number | undefined;
  tls?: ClientTlsOptions | undefined;
  backoff: ReconnectBackoff | undefined;
  /** Called whenever status changes, so the directory can republish its snapshot. */
  onStatus: () => void;
}

/**
 * One instance as this client sees it: a lazily dialled, self-healing connection and the
 * health status the balancer reads. Connectivity moves the status between open, draining
 * and unavailable, but never overrides an ejection made by an endpoint filter.
 */
export class ClientEndpoint implements Endpoint {
  instance: Instance;
  readonly load: EndpointLoad = newLoad();
  readonly firstSeenMs = performance.now();
  readonly call: Service;
  private _status: EndpointStatus = 'open';
  private conn: Connection | undefined;
  private connecting: Promise<Connection> | undefined;
  private nextDelay: () => number;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastError: RpcError | undefined;
  private closed = false;

  constructor(
    instance: Instance,
    private readonly options: EndpointOptions,
  ) {
    this.instance = instance;
    this.nextDelay = reconnectDelays(options.backoff);
    this.call = compose(...options.endpointFilters.map((f) => f(this)))(this.send);
    // Dial eagerly so the first call does not pay for it and the balancer sees real status.
    this.connect().catch(() => {});
  }

  get status(): EndpointStatus {
    return this._status;
  }

  set status(next: EndpointStatus) {
    // A holder releasing an ejection asks for open; if the dial failed meanwhile (in backoff,
    // no connection), open would fail every pick fast with the cached error: stay unavailable.
    if (next === 'open' && this.lastError && !this.conn?.isOpen) next = 'unavailable';
    else if (next === 'open' && this.conn?.busy) next = 'busy';
    if (next === this._status) return;
    this._status = next;
    this.options.onStatus();
  }

  get connected(): boolean {
    return this.conn?.isOpen ?? false;
  }

  // Not async: an open connection's call promise is returned as is, with no extra hop.
  private readonly send: Service = (req: unknown, ctx: CallContext) => {
    const conn = this.conn;
    if (conn?.isOpen) return conn.call(req, ctx);
    return this.connect().then((c) => c.call(req, ctx));
  };

  private connect(): Promise<Connection> {
    if (this.closed)
      return Promise.reject(new RpcError('UNAVAILABLE', 'endpoint removed', { mayHaveProcessed: false }));
    if (this.conn?.isOpen) return Promise.resolve(this.conn);
    if (this.connecting) return this.connecting;
    if (this.retryTimer && this.lastError) {
      // In backoff: fail fast instead of queueing behind a dead address.
      return Promise.reject(this.lastError);
    }
    this.connecting = Connection.connect({
      address: this.instance.address,
      codec: this.options.codec,
      connectTimeoutMs: this.options.connectTimeoutMs,
      tls: this.options.tls,
      ...(this.options.maxFrameBytes === undefined ? {} : { maxFrameBytes: this.options.maxFrameBytes }),
    }).then(
      (conn) => this.adopt(conn),
      (err: RpcError) => {
        this.connecting = undefined;
        this.lastError = err;
        if (this._status !== 'ejected') this.status = 'unavailable';
        this.scheduleReconnect();
        throw err;
      },
    );
    return this.connecting;
  }

  private adopt(conn: Connection): Connection {
    this.connecting = undefined;
    this.lastError = undefined;
    this.nextDelay = reconnectDelays(this.options.backoff);
    if (this.closed) {
      void conn.close();
      throw new RpcError('UNAVAILABLE', 'endpoint removed', { mayHaveProcessed: false });
    }
    this.conn = conn;
    if (this._status === 'unavailable' || this._status === 'draining') this.status = 'open';
    // At the server's in-flight limit: balancers skip it (panic mode still routes to it).
    conn.onBusy((busy) => {
      if (busy ? this._status === 'open' : this._status === 'busy') this.status = busy ? 'busy' : 'open';
    });
    conn.onGoAway(() => {
      if (this._status !== 'ejected') this.status = 'draining';
    });
    conn.onClose(() => {
      if (this.conn === conn) this.conn = undefined;
      // A server that only recycled the connection accepts a new one; one that is shutting
      // down refuses it and the endpoint becomes unavailable until the registry drops it.
      if (!this.closed) this.scheduleReconnect(this._status === 'draining' ? 0 : undefined);
    });
    return conn;
  }

  private scheduleReconnect(delay = this.nextDelay()): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().catch(() => {});
    }, delay);
    this.retryTimer.unref();
  }

  /** Closed by its directory, which does so only when it drops the endpoint for good. */
  get retired(): boolean {
    return this.closed;
  }

  /**
   * Stops reconnecting and closes the connection once its calls finish, failing those still
   * running after `graceMs` (default 5 s); a hung peer cannot hold it open (Connection.close).
   */
  async close(graceMs?: number): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.conn?.close(graceMs);
  }
}
