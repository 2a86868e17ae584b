import type { RpcError } from '../core/errors.js';
import { createEmitter, type Emitter, type Event } from '../core/events.js';
import { type Filter, invoke } from '../core/service.js';
import { countWindow, type OutcomeWindow, timeWindow } from './breaker-window.js';
import { classifyAttempt, type FailureClassifier, isFailure, rejection } from './classify.js';
import { type Clock, systemClock } from './clock.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Sliding window: the last `size` calls (default, 100) or the calls of the last `ms`. */
  window?: { size: number } | { ms: number };
  /**
   * No verdict before this many calls in the window. Default 20. Clamped to a count
   * window's size, which can never hold more calls (the breaker would never trip).
   */
  minimumCalls?: number;
  /** Open when failures / calls reaches this. Default 0.5 (resilience4j). */
  failureRate?: number;
  /** A call slower than this counts as slow. Default Infinity (slow-call tripping off). */
  slowCallMs?: number;
  /** Open when slow calls / calls reaches this. Default 1 (resilience4j). */
  slowCallRate?: number;
  /** First open period; doubles on each trip that follows a failed probe. Default 5 s. */
  openMs?: number;
  /** Cap on the open period. Default 60 s. */
  maxOpenMs?: number;
  /** Probe calls let through when half-open; all must succeed to close. Default 3. */
  halfOpenCalls?: number;
  /** Which errors count as failures. Default: UNAVAILABLE, INTERNAL, DEADLINE_EXCEEDED, UNKNOWN, DATA_LOSS. */
  isFailure?: FailureClassifier;
  clock?: Clock;
}

export interface BreakEvent {
  /** The endpoint's instance id, for endpoint breakers. */
  instance?: string;
  calls: number;
  failureRate: number;
  slowCallRate: number;
  /** How long it stays open before probing. */
  openMs: number;
}
export interface BreakerStateEvent {
  instance?: string;
}

export interface BreakerEvents {
  readonly onBreak: Event<BreakEvent>;
  readonly onHalfOpen: Event<BreakerStateEvent>;
  readonly onReset: Event<BreakerStateEvent>;
}

/** Internal: the breaker's event emitters, shared with the endpoint breaker. */
export interface Emitters {
  break: Emitter<BreakEvent>;
  halfOpen: Emitter<BreakerStateEvent>;
  reset: Emitter<BreakerStateEvent>;
  /** Internal: every half-open probe slot taken (with ms until they time out), or one freed. */
  probes?: { full(timeoutMs: number): void; free(): void };
}

export function emitters(): Emitters {
  return { break: createEmitter(), halfOpen: createEmitter(), reset: createEmitter() };
}

export function eventsOf(e: Emitters): BreakerEvents {
  return { onBreak: e.break.event, onHalfOpen: e.halfOpen.event, onReset: e.reset.event };
}

/**
 * The state machine, shared by the service and endpoint breakers. `acquire` hands out a
 * token naming the state generation; outcomes of calls admitted in an earlier generation
 * (before a trip or a reset) are dropped, so a slow straggler cannot close a breaker.
 */
export class CircuitBreaker {
  state: BreakerState = 'closed';
  private generation = 0;
  private readonly window: OutcomeWindow;
  private openUntil = 0;
  private trips = 0;
  private probesIssued = 0;
  private probesPassed = 0;
  /** When probes still out count as failed; set when the last probe slot is taken. */
  private probeDeadline = 0;
  private lastWaitMs = 0;
  private readonly minimumCalls: number;
  private readonly failureRate: number;
  private readonly slowCallRate: number;
  private readonly openMs: number;
  private readonly maxOpenMs: number;
  private readonly halfOpenCalls: number;
  readonly slowCallMs: number;
  readonly now: () => number;

  constructor(
    options: BreakerOptions,
    private readonly emit: Emitters,
    private readonly instance?: string,
  ) {
    this.now = (options.clock ?? systemClock).now;
    const w = options.window ?? { size: 100 };
    this.window = 'ms' in w ? timeWindow(w.ms, this.now) : countWindow(w.size);
    // A count window never holds more than `size` calls: a larger minimum would never be met.
    this.minimumCalls = Math.min(options.minimumCalls ?? 20, 'size' in w ? w.size : Number.POSITIVE_INFINITY);
    this.failureRate = options.failureRate ?? 0.5;
    this.slowCallRate = options.slowCallRate ?? 1;
    this.slowCallMs = options.slowCallMs ?? Number.POSITIVE_INFINITY;
    this.openMs = options.openMs ?? 5_000;
    this.maxOpenMs = options.maxOpenMs ?? 60_000;
    this.halfOpenCalls = options.halfOpenCalls ?? 3;
    if (!(this.minimumCalls >= 1)) throw new RangeError('breaker: minimumCalls must be >= 1');
    if (!(this.failureRate > 0 && this.failureRate <= 1))
      throw new RangeError('breaker: failureRate in (0, 1]');
    if (!(this.slowCallRate > 0 && this.slowCallRate <= 1))
      throw new RangeError('breaker: slowCallRate in (0, 1]');
    if (!(this.openMs > 0 && this.maxOpenMs >= this.openMs))
      throw new RangeError('breaker: need 0 < openMs <= maxOpenMs');
    if (!(Number.isInteger(this.halfOpenCalls) && this.halfOpenCalls >= 1))
      throw new RangeError('breaker: halfOpenCalls must be an integer >= 1');
  }

  /** Ms until an open breaker lets probes through; 0 otherwise. */
  get retryAfterMs(): number {
    return this.state === 'open' ? Math.max(0, this.openUntil - this.now()) : 0;
  }

  /**
   * Moves an open breaker whose wait has passed to half-open, and re-trips a half-open one
   * whose probes have not all settled within the last open wait: a hung probe would
   * otherwise hold it half-open, refusing every other call, forever.
   */
  poll(): BreakerState {
    if (this.state === 'open' && this.now() >= this.openUntil) {
      this.transition('half-open');
      this.emit.halfOpen.emit({ instance: this.instance });
    } else if (
      this.state === 'half-open' &&
      this.probeDeadline > 0 &&
      this.probesIssued > this.probesPassed &&
      this.now() >= this.probeDeadline
    ) {
      this.trip();
    }
    return this.state;
  }

  /** A token for one call, or -1 when the call must fail fast. */
  acquire(): number {
    if (this.state === 'closed') return this.generation;
    if (this.poll() === 'open' || this.probesIssued >= this.halfOpenCalls) return -1;
    if (++this.probesIssued === this.halfOpenCalls) {
      // Kept from the first time the slots fill, so re-filling a freed slot never extends it.
      if (this.probeDeadline === 0) this.probeDeadline = this.now() + this.lastWaitMs;
      this.emit.probes?.full(Math.max(0, this.probeDeadline - this.now()));
    }
    return this.generation;
  }

  /** Reports an admitted call's outcome; `undefined` means neither (cancelled by the caller). */
  record(token: number, failure: boolean | undefined, durationMs: number): void {
    if (token !== this.generation) return;
    const slow = durationMs >= this.slowCallMs;
    if (this.state === 'half-open') {
      if (failure === undefined) {
        if (this.probesIssued-- === this.halfOpenCalls) this.emit.probes?.free();
      } else if (failure || slow) this.trip();
      else if (++this.probesPassed >= this.halfOpenCalls) {
        this.trips = 0;
        this.transition('closed');
        this.emit.reset.emit({ instance: this.instance });
      }
      return;
    }
    if (failure === undefined) return;
    const w = this.window;
    w.add(failure, slow);
    const calls = w.calls;
    if (calls < this.minimumCalls) return;
    if (w.failures / calls >= this.failureRate || w.slow / calls >= this.slowCallRate) this.trip();
  }

  private trip(): void {
    const w = this.window;
    const calls = w.calls;
    // Read the figures before the transition clears the window; a failed probe has none.
    const failureRate = calls ? w.failures / calls : 1;
    const slowCallRate = calls ? w.slow / calls : 0;
    const wait = Math.min(this.maxOpenMs, this.openMs * 2 ** Math.min(this.trips, 30));
    this.trips++;
    this.lastWaitMs = wait;
    this.openUntil = this.now() + wait;
    this.transition('open');
    this.emit.break.emit({ instance: this.instance, calls, failureRate, slowCallRate, openMs: wait });
  }

  private transition(to: BreakerState): void {
    this.state = to;
    this.generation++;
    this.probesIssued = this.probesPassed = 0;
    this.probeDeadline = 0;
    this.window.reset();
  }
}

/** Internal: the filter that admits calls through a breaker and records their outcomes. */
export function guard(
  breaker: CircuitBreaker,
  isFailureFn: FailureClassifier,
  refuse: () => RpcError,
): Filter {
  // A promise chain rather than async/await: this runs on every attempt.
  return (req, ctx, next) => {
    const token = breaker.acquire();
    if (token < 0) return Promise.reject(refuse());
    const start = breaker.now();
    return invoke(next, req, ctx).then(
      (res) => {
        breaker.record(token, false, breaker.now() - start);
        return res;
      },
      (err: unknown) => {
        breaker.record(token, classifyAttempt(err, ctx.signal, isFailureFn), breaker.now() - start);
        throw err;
      },
    );
  };
}

export type CircuitBreakerFilter = Filter &
  BreakerEvents & { readonly state: BreakerState; isOpen(): boolean; readonly breaker: CircuitBreaker };

/** A service-level breaker: while open, calls fail fast with UNAVAILABLE (never processed). */
export function circuitBreaker(options: BreakerOptions = {}): CircuitBreakerFilter {
  const e = emitters();
  const breaker = new CircuitBreaker(options, e);
  const filter = guard(breaker, options.isFailure ?? isFailure, () =>
    rejection('UNAVAILABLE', 'breaker', `circuit open; retry in ${Math.ceil(breaker.retryAfterMs)} ms`),
  );
  const withState = Object.defineProperty(filter, 'state', { get: () => breaker.poll() });
  return Object.assign(withState, eventsOf(e), {
    isOpen: () => breaker.poll() === 'open',
    breaker,
  }) as CircuitBreakerFilter;
}
