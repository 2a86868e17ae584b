import type { Socket } from 'node:net';

/**
 * Queues outgoing frames and hands them to the socket once per event-loop turn, so a burst
 * of calls or replies costs one write (one syscall) instead of one per frame. Reports
 * back-pressure: `writable` is false while the socket's buffer is over its high-water mark.
 */
export class FrameWriter {
  private queue: Buffer[] = [];
  private queued = 0;
  private scheduled = false;
  /** A Set so a waiter that gave up (deadline, abort) leaves at once instead of piling up. */
  private drainWaiters = new Set<() => void>();
  /** Highest REQUEST call id handed to the socket; lets a client tell which calls may have been sent. */
  flushedCallId = 0;
  private pendingCallId = 0;
  writable = true;

  constructor(
    private readonly socket: Socket,
    private readonly hooks: { onCongested?: () => void; onDrain?: () => void } = {},
  ) {
    socket.on('drain', () => {
      this.release();
      this.hooks.onDrain?.();
    });
  }

  /** Queues a frame; `requestId` marks REQUEST frames for flushedCallId bookkeeping. */
  write(frame: Buffer, requestId = 0): void {
    this.queue.push(frame);
    this.queued += frame.length;
    if (requestId > this.pendingCallId) this.pendingCallId = requestId;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Writes now; used before ending the socket. */
  readonly flush = (): void => {
    this.scheduled = false;
    // After end() nothing more can leave, and a write would only destroy the socket with an error.
    if (this.queued === 0 || this.socket.destroyed || this.socket.writableEnded) {
      this.queue = [];
      this.queued = 0;
      return;
    }
    const data = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue, this.queued);
    this.queue = [];
    this.queued = 0;
    this.flushedCallId = this.pendingCallId;
    if (!this.socket.write(data)) {
      this.writable = false;
      this.hooks.onCongested?.();
    }
  };

  /** Calls `waiter` once the socket can take more (drain) or is gone (release); see offWritable. */
  onWritable(waiter: () => void): void {
    this.drainWaiters.add(waiter);
  }

  /** Forgets a waiter that no longer wants to write. */
  offWritable(waiter: () => void): void {
    this.drainWaiters.delete(waiter);
  }

  /** Releases anyone waiting for drain (drained, or the socket is gone). */
  release(): void {
    this.writable = true;
    if (this.drainWaiters.size === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = new Set();
    for (const w of waiters) w();
  }
}
