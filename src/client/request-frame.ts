import type { CallContext } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import { type Codec, encodePayload } from '../wire/codec.js';
import { encodeMetadata, encodeRequest } from '../wire/frame.js';

const methodCache = new Map<string, Buffer>();
function methodBytes(method: string): Buffer {
  let bytes = methodCache.get(method);
  if (!bytes) {
    bytes = Buffer.from(method, 'utf8');
    if (methodCache.size < 10_000) methodCache.set(method, bytes);
  }
  return bytes;
}

/**
 * Encodes one REQUEST frame, or returns why it cannot be sent (never processed). Returning
 * the error instead of throwing keeps the connection's send path free of try/catch frames.
 */
export function encodeCall(
  codec: Codec,
  id: number,
  input: unknown,
  ctx: CallContext,
  timeoutMs: number | undefined,
  serverMaxFrameBytes: number,
): Buffer | RpcError {
  let frame: Buffer;
  try {
    frame = encodeRequest(
      id,
      methodBytes(ctx.method),
      timeoutMs,
      encodeMetadata(ctx.metadata),
      encodePayload(codec, input),
    );
  } catch (err) {
    return new RpcError('INVALID_ARGUMENT', `cannot encode request: ${(err as Error).message}`, {
      mayHaveProcessed: false,
      cause: err,
    });
  }
  if (frame.length <= serverMaxFrameBytes) return frame;
  return new RpcError(
    'RESOURCE_EXHAUSTED',
    `request of ${frame.length} bytes exceeds the server's frame limit of ${serverMaxFrameBytes}`,
    { mayHaveProcessed: false },
  );
}
