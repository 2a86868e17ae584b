import type { CallContext } from './context.js';

/** Everything on a call path: a function from a request to a promised reply. */
export type Service<Req = unknown, Res = unknown> = (req: Req, ctx: CallContext) => Promise<Res>;

/** Adds behaviour around a Service; calls `next` zero, one or several times. */
export type Filter<Req = unknown, Res = unknown> = (
  req: Req,
  ctx: CallContext,
  next: Service<Req, Res>,
) => Promise<Res>;

/**
 * Calls `next`, turning a synchronous throw into a rejected promise, so a filter written
 * as a plain promise chain behaves as an async function would.
 */
export function invoke<Req, Res>(next: Service<Req, Res>, req: Req, ctx: CallContext): Promise<Res> {
  try {
    return next(req, ctx);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Composes filters outermost first: compose(a, b)(s) runs a, then b, then s.
 * Binding happens once, so the per-call cost is one closure hop per filter.
 */
export function compose<Req, Res>(
  ...filters: readonly Filter<Req, Res>[]
): (service: Service<Req, Res>) => Service<Req, Res> {
  return (service) => {
    let next = service;
    for (let i = filters.length - 1; i >= 0; i--) {
      const filter = filters[i]!;
      const inner = next;
      next = (req, ctx) => filter(req, ctx, inner);
    }
    return next;
  };
}
