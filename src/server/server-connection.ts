import type { Socket } from 'node:net';
import { RpcError, Status } from '../core/errors.js';
import { joinHostPort } from '../registry/instance.js';
import type { PeerIdentity } from '../security/peer.js';
import type { Codec } from '../wire/codec.js';
import {
  decodeRequest,
  encodeEmpty,
  encodeError,
  encodeGoAway,
  type Frame,
  FrameType,
  ProtocolError,
} from '../wire/frame.js';
import { FrameDecoder } from '../wire/frame-decoder.js';
import { FrameWriter } from '../wire/writer.js';
import { type FailureOptions, failureFrame, replyFrame } from './reply.js';
import type { Router } from './router.js';
import { ServerCall } from './server-call.js';
import { readClientHello } from './server-hello.js';

export interface ServerConnectionOptions extends FailureOptions {
  codecs: ReadonlyMap<string, Codec>;
  maxFrameBytes: number;
  maxConcurrentCalls: number;
  handshakeTimeoutMs: number;
  /** After the server ends a socket, how long the peer has to close its side before it is destroyed. */
  closeLingerMs: number;
}

const EMPTY = Buffer.alloc(0);

/** One accepted socket: handshake, then multiplexed calls dispatched through the router. */
export class ServerConnection {
  private state: 'handshake' | 'open' | 'draining' | 'closed' = 'handshake';
  private hello: Buffer | undefined;
  private codec!: Codec;
  private readonly decoder: FrameDecoder;
  private readonly writer: FrameWriter;
  private readonly calls = new Map<number, ServerCall>();
  private lastCallId = 0;
  private goAwayLastId = Number.POSITIVE_INFINITY;
  private readonly handshakeTimer: NodeJS.Timeout;
  private lingerTimer: NodeJS.Timeout | undefined;
  private lingerUntil = Number.POSITIVE_INFINITY;
  readonly peer: string;
  readonly closed: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly router: Router,
    private readonly options: ServerConnectionOptions,
    /** TLS connections: who the certificate says the peer is, read once after the TLS handshake. */
    private readonly identity?: PeerIdentity,
    /** What is left of the handshake timeout (a TLS connection has spent some on the TLS handshake). */
    handshakeLeftMs = options.handshakeTimeoutMs,
  ) {
    this.peer = joinHostPort(socket.remoteAddress ?? '', socket.remotePort ?? 0);
    this.decoder = new FrameDecoder(options.maxFrameBytes);
    // Back-pressure: stop reading requests while the peer is not reading our replies.
    this.writer = new FrameWriter(socket, {
      onCongested: () => socket.pause(),
      onDrain: () => socket.resume(),
    });
    socket.setNoDelay(true);
    this.handshakeTimer = setTimeout(() => socket.destroy(), Math.max(0, handshakeLeftMs));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.once('close', () => this.onClose());
  }

  get inflight(): number {
    return this.calls.size;
  }

  /** Graceful: GOAWAY now, finish calls in flight, then close. */
  drain(reason = 'server is shutting down'): void {
    if (this.state === 'closed') return;
    if (this.state === 'handshake') {
      this.socket.destroy();
      return;
    }
    if (this.state === 'open') {
      this.state = 'draining';
      this.goAwayLastId = this.lastCallId;
      this.writer.write(encodeGoAway(this.lastCallId, 0, reason));
      this.writer.flush();
    }
    if (this.calls.size === 0) this.end();
  }

  /** The socket saw no traffic for the idle timeout. A connection with a call in flight is never idle. */
  idle(): void {
    if (this.calls.size > 0) return;
    if (this.state === 'handshake' || this.state === 'open') this.drain('connection idle');
    // Already ended, and the peer neither closed its side nor read: it keeps no slot.
    else this.socket.destroy();
  }

  /** Ends what is left after the grace period: callers learn the call may have run. */
  terminate(): void {
    for (const [callId, call] of this.calls) {
      call.done();
      call.abort(new RpcError('UNAVAILABLE', 'server closed before the call finished'));
      this.writer.write(
        encodeError(callId, Status.UNAVAILABLE, 'server closed before the call finished', false),
      );
    }
    this.calls.clear();
    this.writer.flush();
    this.end(100);
  }

  private onData(chunk: Buffer): void {
    try {
      if (this.state === 'handshake') {
        chunk = this.handshake(chunk);
        if (chunk.length === 0) return;
      }
      if (this.state === 'closed') return;
      this.decoder.push(chunk, (frame) => this.onFrame(frame));
    } catch (err) {
      this.protocolError(err);
    }
  }

  private handshake(chunk: Buffer): Buffer {
    const outcome = readClientHello(this.hello ? Buffer.concat([this.hello, chunk]) : chunk, this.options);
    this.hello = undefined;
    if (outcome.kind === 'partial') {
      this.hello = outcome.buffered;
      return EMPTY;
    }
    if (outcome.kind === 'foreign') {
      // Nothing useful to say in our framing.
      this.socket.destroy();
      this.state = 'closed';
      return EMPTY;
    }
    clearTimeout(this.handshakeTimer);
    this.socket.write(outcome.reply);
    if (!outcome.codec) {
      this.state = 'closed';
      this.end();
      return EMPTY;
    }
    this.codec = outcome.codec;
    this.state = 'open';
    return outcome.rest;
  }

  private onFrame(frame: Frame): void {
    switch (frame.type) {
      case FrameType.REQUEST:
        return this.onRequest(frame);
      case FrameType.CANCEL: {
        const call = this.calls.get(frame.callId);
        if (call) {
          this.finish(call);
          call.abort(new RpcError('CANCELLED', 'cancelled by the caller'));
        }
        return;
      }
      case FrameType.PING:
        this.writer.write(encodeEmpty(FrameType.PONG, frame.callId, frame.body));
        return;
      case FrameType.PONG:
        return;
      case FrameType.GOAWAY:
        // The client is going away: nothing new will come; in-flight replies are still wanted.
        return;
      default:
        throw new ProtocolError(`frame type 0x${frame.type.toString(16)} is not valid from a client`);
    }
  }

  private onRequest(frame: Frame): void {
    const callId = frame.callId;
    if (callId <= this.lastCallId) {
      throw new ProtocolError(
        `call id ${callId} is not above the previous ${this.lastCallId} (duplicate or reused)`,
      );
    }
    this.lastCallId = callId;
    const req = decodeRequest(frame.body);
    const route = this.router.get(req.method);
    if (!route)
      return this.reject(callId, Status.UNIMPLEMENTED, `unknown method ${JSON.stringify(req.method)}`);
    if (callId > this.goAwayLastId) return this.reject(callId, Status.UNAVAILABLE, 'server is shutting down');
    if (this.calls.size >= this.options.maxConcurrentCalls) {
      return this.reject(
        callId,
        Status.RESOURCE_EXHAUSTED,
        `too many calls in flight on this connection (limit ${this.options.maxConcurrentCalls})`,
      );
    }
    if (req.timeoutMs === 0)
      return this.reject(callId, Status.DEADLINE_EXCEEDED, 'deadline expired before arrival');
    let input: unknown;
    try {
      input = this.codec.decode(req.payload);
    } catch (err) {
      return this.reject(
        callId,
        Status.INVALID_ARGUMENT,
        `cannot decode ${this.codec.name} payload: ${(err as Error).message}`,
      );
    }
    const timeoutMs = req.timeoutMs;
    const call = new ServerCall(
      callId,
      req.method,
      route.service,
      timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs,
      req.metadata,
      route.idempotent,
      this.peer,
      this.identity,
    );
    if (timeoutMs !== undefined) call.expireAfter(timeoutMs, this.onDeadline);
    this.calls.set(callId, call);
    let result: Promise<unknown>;
    try {
      // A JavaScript filter may return a plain value: a reply, not a protocol error.
      result = Promise.resolve(route.call(input, call));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (value) => this.succeed(call, value),
      (err) => this.fail(call, err),
    );
  }

  private readonly onDeadline = (call: ServerCall): void => {
    const callId = call.callId;
    if (this.calls.get(callId) !== call) return;
    this.finish(call);
    call.abort(new RpcError('DEADLINE_EXCEEDED', 'deadline exceeded on the server'));
    this.writer.write(
      encodeError(callId, Status.DEADLINE_EXCEEDED, 'deadline exceeded on the server', false),
    );
  };

  private succeed(call: ServerCall, value: unknown): void {
    if (this.calls.get(call.callId) !== call) return;
    this.finish(call);
    this.writer.write(replyFrame(this.codec, call.callId, value));
  }

  private fail(call: ServerCall, err: unknown): void {
    if (this.calls.get(call.callId) !== call) return;
    this.finish(call);
    this.writer.write(failureFrame(this.codec, call.callId, call.method, err, this.options));
  }

  private reject(callId: number, code: number, message: string): void {
    this.writer.write(encodeError(callId, code, message, true));
  }

  private finish(call: ServerCall): void {
    this.calls.delete(call.callId);
    call.done();
    // A draining connection closes once its last reply is out; callers write the reply first.
    if (this.state === 'draining' && this.calls.size === 0) setImmediate(() => this.endIfIdle());
  }

  private endIfIdle(): void {
    if (this.state !== 'draining' || this.calls.size > 0) return;
    this.writer.flush();
    this.end();
  }

  /**
   * Ends our side and destroys the socket if the peer has not closed its side within `lingerMs`:
   * a peer that allows half-open sockets, or never reads, must not hold its slot forever.
   */
  private end(lingerMs = this.options.closeLingerMs): void {
    this.socket.end();
    const until = Date.now() + lingerMs;
    if (until >= this.lingerUntil) return;
    clearTimeout(this.lingerTimer);
    this.lingerUntil = until;
    this.lingerTimer = setTimeout(() => this.socket.destroy(), lingerMs).unref();
  }

  private protocolError(err: unknown): void {
    if (this.state === 'closed') return;
    const code = err instanceof ProtocolError ? err.code : 'INTERNAL';
    const message = err instanceof Error ? err.message : String(err);
    if (this.state !== 'handshake') {
      this.writer.write(encodeGoAway(this.lastCallId, Status[code], `protocol error: ${message}`));
      this.writer.flush();
    }
    this.state = 'closed';
    this.abortAll('protocol error');
    this.end(Math.min(1000, this.options.closeLingerMs));
  }

  private abortAll(why: string): void {
    for (const [, call] of this.calls) {
      call.done();
      call.abort(new RpcError('CANCELLED', `connection closed: ${why}`));
    }
    this.calls.clear();
  }

  private onClose(): void {
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.lingerTimer);
    this.state = 'closed';
    this.writer.release();
    this.abortAll('peer disconnected');
  }
}
