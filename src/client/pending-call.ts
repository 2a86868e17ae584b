import { RpcError } from '../core/errors.js';

/** What a pending call needs from its connection: a way to give up on it. */
export interface Abandoning {
  abandon(id: number, err: RpcError): void;
}

/**
 * A call awaiting its reply. It is its own abort listener (`handleEvent`) and its timer
 * gets its arguments through setTimeout, so a call allocates no closures beyond its promise.
 */
export class Pending {
  resolve!: (value: unknown) => void;
  reject!: (err: RpcError) => void;
  timer: NodeJS.Timeout | undefined = undefined;
  listening = false;

  constructor(
    readonly conn: Abandoning,
    readonly id: number,
    readonly signal: AbortSignal,
  ) {}

  handleEvent(): void {
    const reason = this.signal.reason;
    this.conn.abandon(
      this.id,
      reason instanceof RpcError ? reason : new RpcError('CANCELLED', 'cancelled by the caller'),
    );
  }
}

export function onDeadline(conn: Abandoning, id: number, timeoutMs: number): void {
  conn.abandon(id, new RpcError('DEADLINE_EXCEEDED', `deadline exceeded after ${Math.round(timeoutMs)} ms`));
}
