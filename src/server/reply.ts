import { RpcError, Status } from '../core/errors.js';
import { type Codec, encodePayload } from '../wire/codec.js';
import { encodeError, encodeResponse } from '../wire/frame.js';

/** How a handler's failure is shown to its caller. */
export interface FailureOptions {
  /** Send a thrown non-RpcError's message and stack to the caller (development only). */
  exposeErrors: boolean;
  onHandlerError?: ((err: unknown, method: string) => void) | undefined;
}

/** The RESPONSE for a handler's value, or an INTERNAL ERROR if the codec cannot encode it. */
export function replyFrame(codec: Codec, callId: number, value: unknown): Buffer {
  let payload: Uint8Array | string;
  try {
    payload = encodePayload(codec, value);
  } catch (err) {
    return errorFrame(
      codec,
      callId,
      new RpcError('INTERNAL', `cannot encode reply: ${(err as Error).message}`),
    );
  }
  return encodeResponse(callId, payload);
}

/**
 * The ERROR for a handler's rejection. An RpcError goes as it is; anything else is a bug in the
 * handler: reported to `onHandlerError` and sent as INTERNAL, its message hidden unless exposed.
 */
export function failureFrame(
  codec: Codec,
  callId: number,
  method: string,
  err: unknown,
  options: FailureOptions,
): Buffer {
  if (err instanceof RpcError) return errorFrame(codec, callId, err);
  options.onHandlerError?.(err, method);
  const message = options.exposeErrors
    ? String((err as Error)?.message ?? err)
    : `internal error in ${method}`;
  const details = options.exposeErrors ? { stack: (err as Error)?.stack } : undefined;
  return errorFrame(codec, callId, new RpcError('INTERNAL', message, { details }));
}

/** An RpcError as an ERROR frame; details the codec cannot encode are dropped, not fatal. */
export function errorFrame(codec: Codec, callId: number, err: RpcError): Buffer {
  let details: Uint8Array | undefined;
  if (err.details !== undefined) {
    try {
      details = codec.encode(err.details);
    } catch {
      details = undefined;
    }
  }
  return encodeError(callId, Status[err.code], err.message, !err.mayHaveProcessed, details);
}
