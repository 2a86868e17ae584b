import type { CallContext } from '../core/context.js';

/**
 * How a cluster tells the filters above it which instance an attempt went to, before the
 * attempt settles (hedging needs it to send its backup elsewhere). The sink rides on the
 * context as a symbol-keyed property, so `withContext` copies it through every layer
 * between the filter that set it and the cluster.
 */
const SINK: unique symbol = Symbol('tensile.pickSink');

type WithSink = CallContext & { [SINK]?: (instanceId: string) => void };

export function withPickSink(ctx: CallContext, sink: (instanceId: string) => void): CallContext {
  return { ...ctx, [SINK]: sink } as WithSink;
}

export function reportPick(ctx: CallContext, instanceId: string): void {
  (ctx as WithSink)[SINK]?.(instanceId);
}
