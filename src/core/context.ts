export type Metadata = Record<string, string>;

/** What every layer of a call may need, on both client and server. */
export interface CallContext {
  /** Full method name, `service/method`. */
  readonly method: string;
  readonly service: string;
  /** Absolute deadline in epoch milliseconds; `Infinity` when there is none. */
  readonly deadline: number;
  /** Aborted on cancellation, deadline or server shutdown. */
  readonly signal: AbortSignal;
  /** Read-only: calls without metadata share one frozen empty object; derive a copy to add entries. */
  readonly metadata: Readonly<Metadata>;
  /** 1 for the first attempt; retry and hedging filters raise it. */
  readonly attempt: number;
  readonly idempotent: boolean;
  /** Server: the remote address of the caller. Client: the address of the chosen instance, once picked. */
  readonly peer?: string;
  /** Client side: a key for consistent-hash balancing, when the caller gives one. */
  readonly hashKey?: string;
  /**
   * Client side: instance ids the balancer should avoid when it has alternatives
   * (set by retry, hedging and forking so each attempt reaches another instance).
   */
  readonly avoid?: ReadonlySet<string>;
}

/**
 * A signal nobody aborts, shared by calls without cancellation or deadline, so those
 * calls allocate no AbortController and register no listener.
 */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/**
 * Runs `fn` once when `signal` aborts. The shared never-aborted signal gets no listener:
 * one per call would pile up on it (and trip Node's MaxListenersExceededWarning).
 */
export function listenAbort(signal: AbortSignal, fn: () => void): void {
  if (signal !== NEVER_ABORTED) signal.addEventListener('abort', fn, { once: true });
}

/** Undoes `listenAbort` once the work settled. */
export function unlistenAbort(signal: AbortSignal, fn: () => void): void {
  if (signal !== NEVER_ABORTED) signal.removeEventListener('abort', fn);
}

/** The metadata of every call that carries none: shared, so frozen. */
export const EMPTY_METADATA: Readonly<Metadata> = Object.freeze({});

/** Derives a context for an inner layer (a new attempt, a narrower signal). */
export function withContext(ctx: CallContext, patch: Partial<CallContext>): CallContext {
  return { ...ctx, ...patch };
}

/** The longest delay setTimeout honours: a deadline further away gets no timer (it cannot fire first anyway). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Milliseconds left before the deadline, never negative. */
export function remainingMs(ctx: Pick<CallContext, 'deadline'>, now = Date.now()): number {
  return Math.max(0, ctx.deadline - now);
}

/** The earliest of several deadlines. */
export function earliestDeadline(...deadlines: (number | undefined)[]): number {
  let d = Number.POSITIVE_INFINITY;
  for (const x of deadlines) if (x !== undefined && x < d) d = x;
  return d;
}
