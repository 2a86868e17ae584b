import { type CallContext, listenAbort, MAX_TIMER_MS, unlistenAbort } from '../core/context.js';
import { RpcError } from '../core/errors.js';

/**
 * Where calls made before discovery's first answer wait, within their deadline, like gRPC
 * waiting for name resolution. One listener on `ready` serves every waiter, and a call that
 * gives up (deadline, abort) leaves the set at once: while discovery stays silent, calls
 * that time out leave nothing behind.
 */
export class DiscoveryWait {
  private readonly waiters = new Set<(err?: RpcError) => void>();
  /** How `ready` settled, once it has: later calls learn it at once instead of waiting. */
  private outcome: { err?: RpcError } | undefined;

  constructor(
    private readonly service: string,
    /** Resolves on discovery's first answer; rejects with an RpcError if the client closes first. */
    ready: Promise<void>,
  ) {
    ready.then(
      () => this.release({}),
      (err: RpcError) => this.release({ err }),
    );
  }

  get waiting(): number {
    return this.waiters.size;
  }

  wait(ctx: CallContext): Promise<void> {
    if (this.outcome) return this.outcome.err ? Promise.reject(this.outcome.err) : Promise.resolve();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      // Every way out (discovery, client closed, deadline, abort) clears the timer and the listener.
      const done = (err?: RpcError) => {
        this.waiters.delete(done);
        clearTimeout(timer);
        unlistenAbort(ctx.signal, onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = () =>
        done(new RpcError('CANCELLED', 'cancelled while waiting for discovery', { mayHaveProcessed: false }));
      if (ctx.signal.aborted) return onAbort();
      const left = ctx.deadline - Date.now();
      // Beyond setTimeout's limit (~24.8 days) a timer would fire after 1 ms: none, like no deadline.
      if (left <= MAX_TIMER_MS) {
        const message = `no instances of ${this.service} discovered before the deadline`;
        timer = setTimeout(
          () => done(new RpcError('DEADLINE_EXCEEDED', message, { mayHaveProcessed: false })),
          Math.max(0, left),
        );
      }
      listenAbort(ctx.signal, onAbort);
      this.waiters.add(done);
    });
  }

  private release(outcome: { err?: RpcError }): void {
    this.outcome = outcome;
    for (const done of [...this.waiters]) done(outcome.err);
  }
}
