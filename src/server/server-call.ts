import { type CallContext, MAX_TIMER_MS, type Metadata } from '../core/context.js';
import type { PeerIdentity } from '../security/peer.js';
import type { Principal } from '../security/principal.js';

/** The longest delay setTimeout honours. */

/**
 * The context of one call on the server, and the connection's record of it.
 *
 * Its `AbortController` is created only when something reads `signal`: on Node 20 an
 * AbortController costs several microseconds (more than the rest of a small call), and most
 * handlers never look at it. Cancellation, deadline and shutdown call `abort()`, which
 * aborts the controller if there is one, or else remembers the reason, so a signal first
 * read afterwards is already aborted.
 *
 * `signal` is an own, enumerable accessor (one shared getter, defined in the constructor,
 * so every instance keeps one fast hidden class): `{ ...ctx }` and `withContext` copy it
 * like a data property. A prototype getter would be faster still, but a spread would drop
 * it. The bookkeeping fields are private, so spreads do not copy them.
 */
export class ServerCall implements CallContext {
  declare readonly signal: AbortSignal;
  readonly attempt = 1;
  /**
   * Set once by the authentication filter. Assigned in place because deriving a context with
   * a spread reads `signal`, which would create the AbortController this class avoids.
   */
  principal: Principal | undefined = undefined;
  #controller: AbortController | undefined = undefined;
  #reason: unknown = undefined;
  #aborted = false;
  #timer: NodeJS.Timeout | undefined = undefined;
  readonly #callId: number;

  static readonly #signal: PropertyDescriptor = {
    get(this: ServerCall): AbortSignal {
      if (this.#controller === undefined) {
        this.#controller = new AbortController();
        if (this.#aborted) this.#controller.abort(this.#reason);
      }
      return this.#controller.signal;
    },
    enumerable: true,
    configurable: true,
  };

  constructor(
    callId: number,
    readonly method: string,
    readonly service: string,
    readonly deadline: number,
    readonly metadata: Readonly<Metadata>,
    readonly idempotent: boolean,
    readonly peer: string,
    /** The caller's certificate identity on TLS connections (same object for every call). */
    readonly peerIdentity?: PeerIdentity,
  ) {
    this.#callId = callId;
    Object.defineProperty(this, 'signal', ServerCall.#signal);
  }

  get callId(): number {
    return this.#callId;
  }

  /**
   * Arms the server-side deadline; `onExpiry(call)` runs when it passes. The wire allows up to
   * ~49 days, but Node fires timers longer than 2^31-1 ms (~24.8 days) after 1 ms: those get
   * no timer, like a call without a deadline.
   */
  expireAfter(ms: number, onExpiry: (call: ServerCall) => void): void {
    if (ms <= MAX_TIMER_MS) this.#timer = setTimeout(onExpiry, ms, this);
  }

  /** Stops the deadline timer; the call is over. */
  done(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Aborts the handler's signal (now, or when it is first read); the first reason wins. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
