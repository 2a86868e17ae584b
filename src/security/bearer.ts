import type { CallContext } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import type { Filter } from '../core/service.js';
import {
  type AuthenticateOptions,
  type Authenticator,
  authenticate,
  unauthenticated,
} from './authenticate.js';
import { secretMatcher } from './constant-time.js';
import type { Principal } from './principal.js';

export interface BearerTokenOptions {
  /** Static tokens: token → owner id, or owner and roles. Compared in constant time. */
  tokens?: Readonly<Record<string, string | { id: string; roles?: readonly string[] }>>;
  /** Verifies other tokens (JWT, introspection…): a principal, or undefined for an unknown token. */
  verify?: (token: string, ctx: CallContext) => Principal | undefined | Promise<Principal | undefined>;
}

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

/** Parses `authorization: Bearer <token>`; undefined when absent, UNAUTHENTICATED when malformed. */
export function bearerFrom(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = BEARER.exec(header);
  if (!m) throw unauthenticated('malformed authorization metadata: expected "Bearer <token>"');
  return m[1];
}

/** Authenticator for bearer tokens in the `authorization` metadata entry. */
export function bearerToken(options: BearerTokenOptions): Authenticator {
  const { tokens, verify } = options;
  if (!tokens && !verify) throw new TypeError('bearerToken needs tokens or verify');
  const match = secretMatcher(
    Object.entries(tokens ?? {}).map(([token, owner]) => {
      const { id, roles = [] } = typeof owner === 'string' ? { id: owner } : owner;
      return [token, { id, via: 'token', roles: [...roles] } satisfies Principal] as const;
    }),
  );
  const invalid = () => unauthenticated('invalid or expired bearer token');
  return (ctx) => {
    const token = bearerFrom(ctx.metadata.authorization);
    if (token === undefined) return undefined;
    const known = match(token);
    if (known) return known;
    if (!verify) throw invalid();
    return verifySafely(verify, token, ctx).then((p) => {
      if (!p) throw invalid();
      return p;
    });
  };
}

async function verifySafely(
  verify: NonNullable<BearerTokenOptions['verify']>,
  token: string,
  ctx: CallContext,
) {
  try {
    return await verify(token, ctx);
  } catch (err) {
    if (err instanceof RpcError) throw err;
    // A verifier that crashes must not leak its message, nor let the call through.
    throw unauthenticated('bearer token could not be verified');
  }
}

/** Server filter: calls need a valid bearer token (see `authenticate` to combine with mTLS). */
export function bearerAuth(options: BearerTokenOptions & AuthenticateOptions): Filter {
  return authenticate([bearerToken(options)], options);
}
