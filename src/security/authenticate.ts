import type { CallContext } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import type { Filter, Service } from '../core/service.js';
import { ServerCall } from '../server/server-call.js';
import type { Principal } from './principal.js';

/**
 * Finds the caller's principal from one kind of credential. Returns undefined when that kind
 * is absent, so the next authenticator may try; throws UNAUTHENTICATED when it is present but bad.
 */
export type Authenticator = (ctx: CallContext) => Principal | undefined | Promise<Principal | undefined>;

export interface AuthenticateOptions {
  /** Let calls without any credential through with no principal (authorize() can still refuse). */
  optional?: boolean;
  /** Methods that need no credential (health checks), by full name `service/method`. */
  publicMethods?: readonly string[];
}

export const unauthenticated = (message: string) =>
  new RpcError('UNAUTHENTICATED', message, { mayHaveProcessed: false });

/** The context with its principal: in place on the server's own call object, else a copy. */
function withPrincipal(ctx: CallContext, principal: Principal): CallContext {
  if (ctx instanceof ServerCall && ctx.principal === undefined) {
    ctx.principal = principal;
    return ctx;
  }
  return { ...ctx, principal };
}

/** Server filter: the first authenticator that recognises a credential sets `ctx.principal`. */
export function authenticate(
  authenticators: readonly Authenticator[],
  options: AuthenticateOptions = {},
): Filter {
  if (authenticators.length === 0) throw new TypeError('authenticate needs at least one authenticator');
  const open = new Set(options.publicMethods ?? []);
  // Synchronous authenticators (static tokens, certificates) cost no promise hop.
  const from = (i: number, req: unknown, ctx: CallContext, next: Service): Promise<unknown> => {
    for (; i < authenticators.length; i++) {
      const found = authenticators[i]!(ctx);
      if (found instanceof Promise) {
        const at = i;
        return found.then((p) => (p ? next(req, withPrincipal(ctx, p)) : from(at + 1, req, ctx, next)));
      }
      if (found) return next(req, withPrincipal(ctx, found));
    }
    if (options.optional || open.has(ctx.method)) return next(req, ctx);
    throw unauthenticated(
      `${ctx.method} needs credentials: metadata "authorization: Bearer <token>" or a client certificate`,
    );
  };
  return (req, ctx, next) => {
    try {
      return from(0, req, ctx, next);
    } catch (err) {
      return Promise.reject(err);
    }
  };
}
