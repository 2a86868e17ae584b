import type { CallContext } from '../core/context.js';
import { type RpcError, toRpcError } from '../core/errors.js';
import { createEmitter, type Event } from '../core/events.js';
import type { Filter, Service } from '../core/service.js';
import { FAILURE_CODES } from './classify.js';

export type FallbackSource<Req, Res> =
  | { value: Res }
  | { from: (err: RpcError, req: Req, ctx: CallContext) => Res | Promise<Res> }
  | { service: Service<Req, Res> };

export interface FallbackOptions {
  /**
   * Which errors to replace. Default: failure codes (UNAVAILABLE, INTERNAL, DEADLINE_EXCEEDED,
   * UNKNOWN, DATA_LOSS) and RESOURCE_EXHAUSTED; answers such as INVALID_ARGUMENT pass, since
   * hiding them hides bugs, and so does the caller's own cancellation.
   */
  when?: (err: RpcError, ctx: CallContext) => boolean;
}

export interface FallbackEvent {
  method: string;
  error: RpcError;
}

export type FallbackFilter<Req = unknown, Res = unknown> = Filter<Req, Res> & {
  readonly onFallback: Event<FallbackEvent>;
};

const defaultWhen = (err: RpcError, ctx: CallContext) =>
  !ctx.signal.aborted && (FAILURE_CODES.has(err.code) || err.code === 'RESOURCE_EXHAUSTED');

/** Answers a failed call with a value, a function of the error, or a call to another service. */
export function fallback<Req = unknown, Res = unknown>(
  source: FallbackSource<Req, Res>,
  options: FallbackOptions = {},
): FallbackFilter<Req, Res> {
  const when = options.when ?? defaultWhen;
  const used = createEmitter<FallbackEvent>();
  const answer: (err: RpcError, req: Req, ctx: CallContext) => Res | Promise<Res> =
    'value' in source
      ? () => source.value
      : 'from' in source
        ? source.from
        : (_e, req, ctx) => source.service(req, ctx);
  const filter: Filter<Req, Res> = async (req, ctx, next) => {
    try {
      return await next(req, ctx);
    } catch (thrown) {
      const err = toRpcError(thrown);
      if (!when(err, ctx)) throw thrown;
      if (used.size > 0) used.emit({ method: ctx.method, error: err });
      return answer(err, req, ctx);
    }
  };
  return Object.assign(filter, { onFallback: used.event });
}
