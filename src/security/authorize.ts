import type { CallContext } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import type { Filter } from '../core/service.js';
import { unauthenticated } from './authenticate.js';
import type { Principal } from './principal.js';

/** true to allow; false or a reason string to refuse. */
export type AuthorizationRule = (
  principal: Principal | undefined,
  ctx: CallContext,
) => boolean | string | Promise<boolean | string>;

/**
 * Server filter, after authentication: asks the rule about every call (ctx.method names the
 * method). Refusals are PERMISSION_DENIED, or UNAUTHENTICATED when there is no principal at all.
 */
export function authorize(rule: AuthorizationRule): Filter {
  return async (req, ctx, next) => {
    const verdict = await rule(ctx.principal, ctx);
    if (verdict === true) return next(req, ctx);
    if (!ctx.principal) throw unauthenticated(`${ctx.method} needs an authenticated caller`);
    const why = typeof verdict === 'string' ? `: ${verdict}` : '';
    throw new RpcError('PERMISSION_DENIED', `${ctx.principal.id} may not call ${ctx.method}${why}`, {
      mayHaveProcessed: false,
    });
  };
}

/**
 * A rule from a table of method patterns to the roles allowed: `service/method`, `service/*`
 * or `*`. The most specific pattern wins; methods matching none are refused.
 */
export function rolesRule(table: Readonly<Record<string, readonly string[]>>): AuthorizationRule {
  return (principal, ctx) => {
    const service = ctx.method.slice(0, ctx.method.lastIndexOf('/'));
    const allowed = table[ctx.method] ?? table[`${service}/*`] ?? table['*'];
    if (!allowed) return 'no rule allows this method';
    if (allowed.includes('*')) return true;
    if (!principal) return false;
    return principal.roles.some((r) => allowed.includes(r)) || `needs one of the roles ${allowed.join(', ')}`;
  };
}
