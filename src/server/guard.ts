import type { CallContext } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import type { Filter } from '../core/service.js';
import type { PeerIdentity } from '../security/peer.js';

export interface GuardOptions {
  /** TLS identities by `ctx.peer`, filled when a TLS connection is accepted. */
  identities: ReadonlyMap<string, PeerIdentity>;
  maxMetadataBytes: number;
}

/**
 * The server's outermost filter: enforces the metadata budget before any user filter runs,
 * and attaches the caller's TLS identity to the context.
 */
export function connectionGuard({ identities, maxMetadataBytes }: GuardOptions): Filter {
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
    if (identities.size === 0 || ctx.peer === undefined) return next(req, ctx);
    const peerIdentity = identities.get(ctx.peer);
    return next(req, peerIdentity ? ({ ...ctx, peerIdentity } as CallContext) : ctx);
  };
}

function metadataBytes(metadata: CallContext['metadata']): number {
  let n = 0;
  for (const key in metadata) n += Buffer.byteLength(key) + Buffer.byteLength(metadata[key] ?? '');
  return n;
}
