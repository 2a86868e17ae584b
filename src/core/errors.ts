/** gRPC status codes by name; the numeric value is what travels on the wire. */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type StatusCode = Exclude<keyof typeof Status, 'OK'>;

const byNumber = new Map<number, StatusCode>(
  Object.entries(Status)
    .filter(([name]) => name !== 'OK')
    .map(([name, n]) => [n, name as StatusCode]),
);

export function statusFromNumber(n: number): StatusCode {
  return byNumber.get(n) ?? 'UNKNOWN';
}

export interface RpcErrorOptions {
  details?: unknown;
  cause?: unknown;
  /**
   * For UNAVAILABLE: false when the request provably never reached a handler
   * (connection refused, rejected after GOAWAY, never written), so a retry is safe
   * even for non-idempotent methods.
   */
  mayHaveProcessed?: boolean;
}

export class RpcError extends Error {
  override readonly name = 'RpcError';
  readonly code: StatusCode;
  readonly details: unknown;
  readonly mayHaveProcessed: boolean;
  /** Client side: id of the instance that produced the error, when one was picked. */
  instance?: string;

  constructor(code: StatusCode, message: string, options: RpcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.mayHaveProcessed = options.mayHaveProcessed ?? true;
  }

  override toString(): string {
    return `RpcError [${this.code}]: ${this.message}`;
  }
}

/** The same error with another retry-safety verdict (a copy, since errors are shared); itself if it already says so. */
export function withMayHaveProcessed(err: RpcError, mayHaveProcessed: boolean): RpcError {
  if (err.mayHaveProcessed === mayHaveProcessed) return err;
  const copy = new RpcError(err.code, err.message, { details: err.details, cause: err, mayHaveProcessed });
  if (err.instance !== undefined) copy.instance = err.instance;
  return copy;
}

export function isRpcError(value: unknown, code?: StatusCode): value is RpcError {
  return value instanceof RpcError && (code === undefined || value.code === code);
}

/** Wraps anything thrown into an RpcError; unknown exceptions become `fallback`. */
export function toRpcError(value: unknown, fallback: StatusCode = 'UNKNOWN'): RpcError {
  if (value instanceof RpcError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new RpcError(fallback, message, { cause: value });
}
