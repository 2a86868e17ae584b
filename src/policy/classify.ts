import { RpcError, type StatusCode } from '../core/errors.js';

/** Decides whether an outcome counts against an instance or service (a "response classifier"). */
export type FailureClassifier = (err: unknown) => boolean;

/**
 * Codes that say the server or the path to it is unhealthy. INVALID_ARGUMENT, NOT_FOUND,
 * PERMISSION_DENIED and the like are answers from a healthy server: they never trip a breaker.
 */
export const FAILURE_CODES: ReadonlySet<StatusCode> = new Set<StatusCode>([
  'UNAVAILABLE',
  'INTERNAL',
  'DEADLINE_EXCEEDED',
  'UNKNOWN',
  'DATA_LOSS',
]);

/** Codes worth another attempt, if the call is safe to repeat. */
export const RETRYABLE_CODES: ReadonlySet<StatusCode> = new Set<StatusCode>([
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'RESOURCE_EXHAUSTED',
]);

/** Default classifier: failure codes count, anything that is not an RpcError is a bug and counts too. */
export const isFailure: FailureClassifier = (err) =>
  err instanceof RpcError ? FAILURE_CODES.has(err.code) : true;

/**
 * True when repeating the call cannot execute it twice in a harmful way: the method is
 * idempotent, or the error proves that no handler ran.
 */
export function isSafeToRetry(err: RpcError, idempotent: boolean): boolean {
  return idempotent || err.mayHaveProcessed === false;
}

const SLOW: unique symbol = Symbol('tensile.abandonedAsSlow');

/**
 * The reason a hedging filter aborts an attempt that lost the race after running longer
 * than the hedge delay. The attempt's caller sees CANCELLED, but the endpoint breaker and
 * outlier detection count it as a failure of its instance: a hung or very slow instance
 * otherwise loses every race, is cancelled every time, and is never ejected. (Envoy records
 * an attempt that overran its per-try timeout against the host even when it hedges on it.)
 */
export function abandonedAsSlow(message: string): RpcError {
  return Object.assign(new RpcError('CANCELLED', message), { [SLOW]: true });
}

/** True for the reason `abandonedAsSlow` builds. */
export function isAbandonedAsSlow(err: unknown): boolean {
  return err instanceof RpcError && (err as RpcError & { [SLOW]?: boolean })[SLOW] === true;
}

/**
 * How an endpoint-level policy should count an attempt that failed: `true` failure,
 * `false` success, `undefined` neither. An attempt the caller cancelled and a local
 * policy's refusal say nothing about the instance; an attempt abandoned as slow does.
 */
export function classifyAttempt(
  err: unknown,
  signal: AbortSignal,
  isFailureFn: FailureClassifier,
): boolean | undefined {
  if (err instanceof RpcError && err.code === 'CANCELLED' && signal.aborted)
    return isAbandonedAsSlow(err) || isAbandonedAsSlow(signal.reason) ? true : undefined;
  if (isLocalRejection(err)) return undefined;
  return isFailureFn(err);
}

/** Which policy rejected a call locally, when one did. */
export interface LocalRejection {
  policy: string;
}

/**
 * An error raised by a local policy (open breaker, full bulkhead, rate limit, throttling):
 * the request never left, and retrying it at once would only meet the same policy again.
 */
export function rejection(code: StatusCode, policy: string, message: string): RpcError {
  return new RpcError(code, message, {
    mayHaveProcessed: false,
    details: { policy } satisfies LocalRejection,
  });
}

export function isLocalRejection(err: unknown): boolean {
  return (
    err instanceof RpcError &&
    typeof err.details === 'object' &&
    err.details !== null &&
    typeof (err.details as Partial<LocalRejection>).policy === 'string'
  );
}

/**
 * Default retry decision: retryable code and safe to repeat. A local policy's refusal is
 * retried only when it names an instance (an endpoint breaker): another instance may take
 * the call, while a service-wide refusal would only be met again.
 */
export function shouldRetry(err: RpcError, idempotent: boolean): boolean {
  return (
    RETRYABLE_CODES.has(err.code) &&
    isSafeToRetry(err, idempotent) &&
    (err.instance !== undefined || !isLocalRejection(err))
  );
}

const NO_INSTANCE: unique symbol = Symbol('tensile.noInstance');

/**
 * The error of a pick that found no instance to call: UNAVAILABLE, never processed, and
 * retryable (an instance may be back after a backoff), but raised locally: no backend
 * refused it, so adaptive throttling must not count it as a backend rejection.
 */
export function noInstance(service: string): RpcError {
  return Object.assign(
    new RpcError('UNAVAILABLE', `no instance of ${service} is available`, { mayHaveProcessed: false }),
    { [NO_INSTANCE]: true },
  );
}

/** True for the error `noInstance` builds. */
export function isNoInstance(err: unknown): boolean {
  return err instanceof RpcError && (err as RpcError & { [NO_INSTANCE]?: boolean })[NO_INSTANCE] === true;
}

/** A call refused by a limiting policy (bulkhead, rate limit, adaptive limit, throttle). */
export interface ShedEvent {
  method: string;
  policy: string;
  reason: string;
}
