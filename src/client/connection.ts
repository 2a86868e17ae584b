import type { Socket } from 'node:net';
import { type CallContext, MAX_TIMER_MS, NEVER_ABORTED } from '../core/context.js';
import { RpcError, statusFromNumber } from '../core/errors.js';
import { createEmitter } from '../core/events.js';
import type { Codec } from '../wire/codec.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  decodeError,
  decodeGoAway,
  encodeEmpty,
  type Frame,
  FrameType,
  MAX_CALL_ID,
} from '../wire/frame.js';
import { FrameDecoder } from '../wire/frame-decoder.js';
import { FrameWriter } from '../wire/writer.js';
import { type DialOptions, dial } from './dial.js';
import { onDeadline, Pending } from './pending-call.js';
import { encodeCall } from './request-frame.js';

export interface ConnectOptions extends DialOptions {
  /** Largest frame accepted from the server (default 4 MiB). */
  maxFrameBytes?: number;
}

/** How long `close()` lets calls in flight finish before failing them. */
export const DEFAULT_CLOSE_GRACE_MS = 5_000;
/** After the last call, how long to wait for the peer to close its side before destroying the socket. */
const CLOSE_LINGER_MS = 1_000;

function unavailable(message: string, mayHaveProcessed: boolean, cause?: unknown): RpcError {
  return new RpcError('UNAVAILABLE', message, { mayHaveProcessed, cause });
}

const expiredBeforeSending = () =>
  new RpcError('DEADLINE_EXCEEDED', 'deadline expired before sending', { mayHaveProcessed: false });

/** One multiplexed client connection to one server. */
export class Connection {
  private state: 'open' | 'draining' | 'closed' = 'open';
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly decoder: FrameDecoder;
  private readonly writer: FrameWriter;
  private readonly goAway = createEmitter<{ lastCallId: number; reason: string }>();
  private readonly closeEmitter = createEmitter<void>();
  private pings = new Map<number, (rtt: number) => void>();
  private closing: Promise<void> | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private lingerMs = CLOSE_LINGER_MS;
  /** Fires when the server sent GOAWAY: send nothing new here. */
  readonly onGoAway = this.goAway.event;
  readonly onClose = this.closeEmitter.event;
  private readonly busyEmitter = createEmitter<boolean>();
  private readonly notBusyAt: number;
  /** True while the calls in flight are at the server's advertised limit (it would refuse more). */
  busy = false;
  /** Fires when `busy` changes. */
  readonly onBusy = this.busyEmitter.event;

  private constructor(
    private readonly socket: Socket,
    private readonly codec: Codec,
    readonly address: string,
    readonly serverMaxFrameBytes: number,
    maxFrameBytes: number,
    private readonly maxCalls: number,
  ) {
    // Busy from the server's limit until 1/8 of it (at least one call) has finished: no flapping per call.
    this.notBusyAt = maxCalls - Math.max(1, maxCalls >> 3);
    this.decoder = new FrameDecoder(maxFrameBytes);
    this.writer = new FrameWriter(socket);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.once('close', () => this.onSocketClose());
  }

  /** Dials, handshakes and resolves with an open connection, or rejects UNAVAILABLE (never processed). */
  static async connect(options: ConnectOptions): Promise<Connection> {
    const { socket, serverMaxFrameBytes, serverMaxConcurrentCalls, rest } = await dial(options);
    // No I/O event can run between dial's resolution and this continuation, so no byte is missed.
    const conn = new Connection(
      socket,
      options.codec,
      options.address,
      serverMaxFrameBytes,
      options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      Math.max(1, serverMaxConcurrentCalls),
    );
    if (rest.length > 0) conn.onData(rest);
    return conn;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  get inflight(): number {
    return this.pending.size;
  }

  /** Sends one call; rejects with RpcError. The deadline and signal come from ctx. */
  call(input: unknown, ctx: CallContext): Promise<unknown> {
    if (this.state !== 'open') return Promise.reject(this.refusal());
    const signal = ctx.signal;
    if (signal.aborted)
      return Promise.reject(
        new RpcError('CANCELLED', 'cancelled before sending', { mayHaveProcessed: false }),
      );
    let timeoutMs: number | undefined;
    if (ctx.deadline !== Number.POSITIVE_INFINITY) {
      timeoutMs = ctx.deadline - Date.now();
      if (timeoutMs <= 0) return Promise.reject(expiredBeforeSending());
    }
    // Armed before writing: a call queued behind a congested socket still ends at its deadline.
    const p = new Pending(this, signal);
    // Longer than setTimeout's limit (~24.8 days) would fire after 1 ms: no timer, like no deadline.
    if (timeoutMs !== undefined && timeoutMs <= MAX_TIMER_MS)
      p.timer = setTimeout(onDeadline, timeoutMs, p, timeoutMs);
    if (signal !== NEVER_ABORTED) {
      signal.addEventListener('abort', p, { once: true });
      p.listening = true;
    }
    // Plain promise rather than async: no extra promise and microtask per call.
    const promise = new Promise<unknown>((resolve, reject) => {
      p.resolve = resolve;
      p.reject = reject;
    });
    if (this.writer.writable) this.send(p, input, ctx, timeoutMs);
    else {
      // Only the congested path allocates this closure; abandon() removes it if the call gives up.
      p.waiter = () => {
        p.waiter = undefined;
        if (this.state !== 'open') return this.fail(p, this.refusal());
        const left = ctx.deadline - Date.now();
        if (left <= 0) return this.fail(p, expiredBeforeSending());
        this.send(p, input, ctx, ctx.deadline === Number.POSITIVE_INFINITY ? undefined : left);
      };
      this.writer.onWritable(p.waiter);
    }
    return promise;
  }

  private send(p: Pending, input: unknown, ctx: CallContext, timeoutMs: number | undefined): void {
    const id = this.nextId;
    const frame = encodeCall(this.codec, id, input, ctx, timeoutMs, this.serverMaxFrameBytes);
    if (frame instanceof RpcError) return this.fail(p, frame);
    this.nextId++;
    // Call ids never wrap: a connection that used them all drains and the endpoint dials anew.
    if (this.nextId >= MAX_CALL_ID) this.state = 'draining';
    p.id = id;
    this.pending.set(id, p);
    if (this.pending.size >= this.maxCalls && !this.busy) this.setBusy(true);
    this.writer.write(frame, id);
  }

  private refusal(): RpcError {
    const why = this.state === 'draining' ? 'draining after GOAWAY' : 'closed';
    return unavailable(`connection to ${this.address} is ${why}`, false);
  }

  /** Rejects a call that was never written. */
  private fail(p: Pending, err: RpcError): void {
    if (p.timer) clearTimeout(p.timer);
    if (p.listening) p.signal.removeEventListener('abort', p);
    p.reject(err);
  }

  /** Round-trip time in ms of a PING. */
  ping(timeoutMs = 5_000): Promise<number> {
    if (this.state === 'closed') return Promise.reject(unavailable('connection closed', false));
    const id = (Math.random() * 0xffffffff) >>> 0;
    const started = performance.now();
    const body = Buffer.alloc(8);
    body.writeDoubleBE(started);
    this.writer.write(encodeEmpty(FrameType.PING, id, body));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(id);
        reject(unavailable('ping timed out', false));
      }, timeoutMs);
      this.pings.set(id, (rtt) => {
        clearTimeout(timer);
        resolve(rtt);
      });
    });
  }

  /**
   * Sends nothing new, lets calls in flight finish for up to `graceMs`, then closes. Calls
   * still pending after the grace period fail with UNAVAILABLE (they may have been
   * processed), and a peer that does not close its side in time (a hung process) has its
   * socket destroyed, so close always settles.
   */
  close(graceMs = DEFAULT_CLOSE_GRACE_MS): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => this.onClose(() => resolve()));
      this.state = 'draining';
      this.lingerMs = Math.min(CLOSE_LINGER_MS, graceMs);
      if (this.pending.size === 0) this.end();
      else {
        this.graceTimer = setTimeout(() => {
          const flushed = this.writer.flushedCallId;
          this.failAll((id) =>
            unavailable(
              `connection to ${this.address} closed by the client after a ${graceMs} ms grace period`,
              id <= flushed,
            ),
          );
          this.socket.destroy();
        }, graceMs);
      }
    }
    return this.closing;
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Fails one pending call locally and tells the server to stop working on it (if it was sent). */
  abandon(p: Pending, err: RpcError): void {
    if (p.waiter) {
      this.writer.offWritable(p.waiter);
      p.waiter = undefined;
      return this.fail(p, err);
    }
    if (this.pending.get(p.id) !== p) return;
    // Queued before settle(), which may end a draining socket: the CANCEL must leave before the FIN.
    this.writer.write(encodeEmpty(FrameType.CANCEL, p.id));
    this.settle(p.id, p);
    p.reject(err);
  }

  private settle(id: number, p: Pending): void {
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if (p.listening) p.signal.removeEventListener('abort', p);
    if (this.busy && this.pending.size <= this.notBusyAt) this.setBusy(false);
    if (this.state === 'draining' && this.pending.size === 0) this.end();
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    this.busyEmitter.emit(busy);
  }

  /** Half-closes once nothing is pending; a peer that never closes its side is cut off after the linger. */
  private end(): void {
    if (this.lingerTimer || this.state === 'closed') return;
    this.writer.flush();
    this.socket.end();
    this.lingerTimer = setTimeout(() => this.socket.destroy(), this.lingerMs);
  }

  private onData(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, (frame) => this.onFrame(frame));
    } catch (err) {
      this.failAll(unavailable(`protocol error from ${this.address}: ${(err as Error).message}`, true, err));
      this.socket.destroy();
    }
  }

  private onFrame(frame: Frame): void {
    switch (frame.type) {
      case FrameType.RESPONSE: {
        const p = this.pending.get(frame.callId);
        if (!p) return;
        this.settle(frame.callId, p);
        let value: unknown;
        try {
          value = this.codec.decode(frame.body);
        } catch (err) {
          return p.reject(new RpcError('INTERNAL', `cannot decode reply: ${(err as Error).message}`));
        }
        return p.resolve(value);
      }
      case FrameType.ERROR: {
        const p = this.pending.get(frame.callId);
        if (!p) return;
        // Decode before settling: a malformed body must fail the whole connection, pending call included.
        const e = decodeError(frame);
        this.settle(frame.callId, p);
        let details: unknown;
        if (e.details.length > 0) {
          try {
            details = this.codec.decode(e.details);
          } catch {
            details = undefined;
          }
        }
        return p.reject(
          new RpcError(statusFromNumber(e.code), e.message, { details, mayHaveProcessed: !e.notProcessed }),
        );
      }
      case FrameType.GOAWAY:
        return this.onGoAwayFrame(frame);
      case FrameType.PING:
        this.writer.write(encodeEmpty(FrameType.PONG, frame.callId, frame.body));
        return;
      case FrameType.PONG: {
        const done = this.pings.get(frame.callId);
        if (done && frame.body.length === 8) {
          this.pings.delete(frame.callId);
          done(performance.now() - frame.body.readDoubleBE(0));
        }
        return;
      }
      default:
        throw new Error(`unexpected frame type 0x${frame.type.toString(16)} from server`);
    }
  }

  private onGoAwayFrame(frame: Frame): void {
    const { lastCallId, code, reason } = decodeGoAway(frame.body);
    if (this.state === 'open') this.state = 'draining';
    // Calls above lastCallId were never started by the server: safe to send elsewhere.
    for (const [id, p] of this.pending) {
      if (id > lastCallId) {
        this.settle(id, p);
        p.reject(unavailable(`server ${this.address} is going away: ${reason}`, false));
      }
    }
    this.goAway.emit({ lastCallId, reason: code === 0 ? reason : `${statusFromNumber(code)}: ${reason}` });
    if (this.pending.size === 0) this.end();
  }

  private failAll(err: (id: number) => RpcError): void;
  private failAll(err: RpcError): void;
  private failAll(err: RpcError | ((id: number) => RpcError)): void {
    for (const [id, p] of this.pending) {
      this.settle(id, p);
      p.reject(typeof err === 'function' ? err(id) : err);
    }
  }

  private onSocketClose(): void {
    this.state = 'closed';
    clearTimeout(this.graceTimer);
    clearTimeout(this.lingerTimer);
    this.writer.release();
    const flushed = this.writer.flushedCallId;
    this.failAll((id) => unavailable(`connection to ${this.address} closed`, id <= flushed));
    this.pings.clear();
    this.closeEmitter.emit();
  }
}
