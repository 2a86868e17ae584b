import type { CallContext } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import type { Filter } from '../core/service.js';

export interface GuardOptions {
  maxMetadataBytes: number;
}

/** The server's outermost filter: enforces the metadata budget before any user filter runs. */
export function connectionGuard({ maxMetadataBytes }: GuardOptions): Filter {
  return (req, ctx, next) => {
    const size = metadataBytes(ctx.metadata);
    if (size > maxMetadataBytes) {
      return Promise.reject(
        new RpcError(
          'RESOURCE_EXHAUSTED',
          `request metadata is ${size} bytes, over the limit of ${maxMetadataBytes}`,
          { mayHaveProcessed: false },
        ),
      );
    }
    return next(req, ctx);
  };
}

function metadataBytes(metadata: CallContext['metadata']): number {
  let n = 0;
  for (const key in metadata) n += Buffer.byteLength(key) + Buffer.byteLength(metadata[key] ?? '');
  return n;
}
