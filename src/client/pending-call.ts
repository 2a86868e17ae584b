import { RpcError, withMayHaveProcessed } from '../core/errors.js';

/** What a pending call needs from its connection: a way to give up on it. */
export interface Abandoning {
  abandon(p: Pending, err: RpcError): void;
}

/**
 * A call awaiting its reply. It is its own abort listener (`handleEvent`) and its timer
 * gets its arguments through setTimeout, so a call allocates no closures beyond its promise.
 * It is armed (timer, abort listener) before it is written, so a call queued behind a
 * congested socket still ends at its deadline.
 */
export class Pending {
  resolve!: (value: unknown) => void;
  reject!: (err: RpcError) => void;
  timer: NodeJS.Timeout | undefined = undefined;
  listening = false;
  /** The call id once written; 0 while it waits for the socket to drain. */
  id = 0;
  /** While waiting for drain: the writer's callback, removed if the call gives up first. */
  waiter: (() => void) | undefined = undefined;

  constructor(
    readonly conn: Abandoning,
    readonly signal: AbortSignal,
  ) {}

  handleEvent(): void {
    const reason = this.signal.reason;
    const sent = this.id !== 0;
    let err: RpcError;
    if (!(reason instanceof RpcError))
      err = new RpcError('CANCELLED', 'cancelled by the caller', { mayHaveProcessed: sent });
    // Never written, so it cannot have run, whatever the reason's own flag says.
    else err = sent ? reason : withMayHaveProcessed(reason, false);
    this.conn.abandon(this, err);
  }
}

export function onDeadline(p: Pending, timeoutMs: number): void {
  p.conn.abandon(
    p,
    new RpcError(
      'DEADLINE_EXCEEDED',
      p.id === 0
        ? `deadline exceeded after ${Math.round(timeoutMs)} ms waiting for a congested connection`
        : `deadline exceeded after ${Math.round(timeoutMs)} ms`,
      { mayHaveProcessed: p.id !== 0 },
    ),
  );
}
