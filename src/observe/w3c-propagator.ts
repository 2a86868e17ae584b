import {
  type Context,
  createTraceState,
  isSpanContextValid,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';
import type { Metadata } from '../core/context.js';

export const TRACEPARENT = 'traceparent';
export const TRACESTATE = 'tracestate';

// version-traceid-parentid-flags; later versions may append fields after another dash.
const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * W3C Trace Context (`traceparent`, `tracestate`) as a TextMapPropagator.
 * @opentelemetry/api ships only the interface (the implementation lives in
 * @opentelemetry/core, part of the SDK), and Tensile depends on the API alone, so this is
 * the default; pass an SDK's propagator, or the global `propagation` API, to use another.
 */
export function w3cTraceContext(): TextMapPropagator {
  return {
    inject(context: Context, carrier: unknown, setter: TextMapSetter) {
      const span = trace.getSpanContext(context);
      if (!span || !isSpanContextValid(span)) return;
      const flags = (span.traceFlags & 0xff).toString(16).padStart(2, '0');
      setter.set(carrier, TRACEPARENT, `00-${span.traceId}-${span.spanId}-${flags}`);
      const state = span.traceState?.serialize();
      if (state) setter.set(carrier, TRACESTATE, state);
    },
    extract(context: Context, carrier: unknown, getter: TextMapGetter) {
      const header = first(getter.get(carrier, TRACEPARENT));
      const m = header === undefined ? null : TRACEPARENT_RE.exec(header.trim());
      // Version ff is forbidden; version 00 has exactly four fields.
      if (!m || m[1] === 'ff' || (m[1] === '00' && m[5] !== undefined)) return context;
      const state = getter.get(carrier, TRACESTATE);
      const spanContext = {
        traceId: m[2]!,
        spanId: m[3]!,
        traceFlags: Number.parseInt(m[4]!, 16),
        isRemote: true,
        ...(state === undefined
          ? {}
          : { traceState: createTraceState(Array.isArray(state) ? state.join(',') : state) }),
      };
      // Rejects all-zero ids, which the format allows but the spec declares invalid.
      if (!isSpanContextValid(spanContext)) return context;
      return trace.setSpanContext(context, spanContext);
    },
    fields: () => [TRACEPARENT, TRACESTATE],
  };
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Reads call metadata as a propagation carrier; own keys only, so `constructor` is never a header. */
export const metadataGetter: TextMapGetter<Metadata> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => (Object.hasOwn(carrier, key) ? carrier[key] : undefined),
};

/** Writes into call metadata; give it a fresh object, never the caller's. */
export const metadataSetter: TextMapSetter<Metadata> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};
