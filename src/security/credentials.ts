import type { Filter } from '../core/service.js';

/** A token, or a function returning the current one (rotating tokens, refreshed by the caller). */
export type TokenSource = string | (() => string | Promise<string>);

/** Client filter: sends `authorization: Bearer <token>` with every call. */
export function bearerCredentials(token: TokenSource): Filter {
  if (typeof token === 'string') {
    const header = `Bearer ${token}`;
    return (req, ctx, next) => next(req, { ...ctx, metadata: { ...ctx.metadata, authorization: header } });
  }
  return async (req, ctx, next) => {
    const current = await token();
    return next(req, { ...ctx, metadata: { ...ctx.metadata, authorization: `Bearer ${current}` } });
  };
}
