import { randomBytes } from 'node:crypto';
import {
  type Attributes,
  type Context,
  context as contextApi,
  type Exception,
  type Link,
  type Span,
  type SpanAttributeValue,
  type SpanContext,
  SpanKind,
  type SpanOptions,
  type SpanStatus,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/** A finished or running span as the in-memory tracer keeps it. */
export interface RecordedSpan {
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  /** Span id of the parent, when there is one. */
  parentSpanId?: string;
  parentIsRemote?: boolean;
  attributes: Attributes;
  status: SpanStatus;
  events: { name: string; attributes?: Attributes }[];
  ended: boolean;
}

/**
 * A Tracer written against the API interfaces alone, keeping spans in memory: enough to
 * test instrumentation without an OpenTelemetry SDK. Every span is sampled.
 */
export function memoryTracer(): Tracer & { readonly spans: RecordedSpan[] } {
  const spans: RecordedSpan[] = [];

  const startSpan = (name: string, options: SpanOptions = {}, ctx: Context = contextApi.active()): Span => {
    const parent = options.root ? undefined : trace.getSpanContext(ctx);
    const record: RecordedSpan = {
      name,
      kind: options.kind ?? SpanKind.INTERNAL,
      traceId: parent?.traceId ?? randomBytes(16).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
      ...(parent ? { parentSpanId: parent.spanId, parentIsRemote: parent.isRemote ?? false } : {}),
      attributes: { ...options.attributes },
      status: { code: SpanStatusCode.UNSET },
      events: [],
      ended: false,
    };
    spans.push(record);
    const spanContext: SpanContext = {
      traceId: record.traceId,
      spanId: record.spanId,
      traceFlags: TraceFlags.SAMPLED,
      ...(parent?.traceState ? { traceState: parent.traceState } : {}),
    };
    const span: Span = {
      spanContext: () => spanContext,
      setAttribute(key: string, value: SpanAttributeValue) {
        if (!record.ended) record.attributes[key] = value;
        return span;
      },
      setAttributes(attributes: Attributes) {
        if (!record.ended) Object.assign(record.attributes, attributes);
        return span;
      },
      addEvent(eventName: string, attributes?: unknown) {
        record.events.push({ name: eventName, ...(isAttributes(attributes) ? { attributes } : {}) });
        return span;
      },
      addLink: (_link: Link) => span,
      addLinks: (_links: Link[]) => span,
      setStatus(status: SpanStatus) {
        if (!record.ended) record.status = status;
        return span;
      },
      updateName(newName: string) {
        record.name = newName;
        return span;
      },
      end() {
        record.ended = true;
      },
      isRecording: () => !record.ended,
      recordException(exception: Exception) {
        const e = typeof exception === 'string' ? { message: exception } : exception;
        record.events.push({
          name: 'exception',
          attributes: {
            'exception.type': String(e.name ?? ''),
            'exception.message': String(e.message ?? ''),
          },
        });
      },
    };
    return span;
  };

  function startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    ...rest: unknown[]
  ): ReturnType<F> {
    const fn = rest.pop() as F;
    const [options, ctx = contextApi.active()] = rest as [SpanOptions | undefined, Context | undefined];
    const span = startSpan(name, options, ctx);
    return contextApi.with(trace.setSpan(ctx, span), () => fn(span)) as ReturnType<F>;
  }

  return { spans, startSpan, startActiveSpan };
}

function isAttributes(value: unknown): value is Attributes {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
