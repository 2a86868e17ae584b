import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { EndpointFilterFactory } from '../client/endpoint-types.js';
import type { CallContext, Metadata } from '../core/context.js';
import { RpcError, Status, type StatusCode } from '../core/errors.js';
import type { Filter, Service } from '../core/service.js';
import { metadataGetter, metadataSetter, TRACEPARENT, w3cTraceContext } from './w3c-propagator.js';

export interface TracingOptions {
  /**
   * Where spans go. Default: `trace.getTracer('tensile')` from the global API, which is a
   * no-op until the application registers an SDK's TracerProvider.
   */
  tracer?: Tracer;
  /** How trace context travels in call metadata. Default: W3C Trace Context (`w3cTraceContext()`). */
  propagator?: TextMapPropagator;
}

const RPC_SYSTEM = 'tensile';

// Each filter returns early when its span neither records nor carries a valid context: the
// no-op tracer without an SDK and without an incoming trace, which then costs next to nothing.

/**
 * The Context of each traced call, keyed by the metadata object clientTracing created for it:
 * retries and hedges derive their contexts by spreading, so they keep that object, and the
 * attempt spans find their parent (with the app's baggage) without parsing a header.
 */
const callContexts = new WeakMap<Metadata, Context>();

/**
 * A CLIENT span per logical call (`service/method`), around retries and hedges. Its parent is
 * the active span (with an SDK's context manager), or else a `traceparent` the caller put in
 * the call's metadata. Place it first in `ClientOptions.filters`.
 */
export function clientTracing(options: TracingOptions = {}): Filter {
  const tracer = options.tracer ?? trace.getTracer(RPC_SYSTEM);
  const propagator = options.propagator ?? w3cTraceContext();
  return (req, ctx, next) => {
    let parent = context.active();
    if (!trace.getSpan(parent) && Object.hasOwn(ctx.metadata, TRACEPARENT))
      parent = propagator.extract(parent, ctx.metadata, metadataGetter);
    const span = tracer.startSpan(
      ctx.method,
      { kind: SpanKind.CLIENT, attributes: rpcAttributes(ctx) },
      parent,
    );
    if (!span.isRecording() && !isSpanContextValid(span.spanContext())) return next(req, ctx);
    const spanContext = trace.setSpan(parent, span);
    // A fresh object: the caller's metadata may be shared between calls.
    const metadata = { ...ctx.metadata };
    propagator.inject(spanContext, metadata, metadataSetter);
    callContexts.set(metadata, spanContext);
    return run(span, false, spanContext, next, req, { ...ctx, metadata });
  };
}

/**
 * A CLIENT span per attempt, naming the instance the balancer chose; its context is what
 * travels to the server. Add it to `ClientOptions.endpointFilters`.
 */
export function attemptTracing(options: TracingOptions = {}): EndpointFilterFactory {
  const tracer = options.tracer ?? trace.getTracer(RPC_SYSTEM);
  const propagator = options.propagator ?? w3cTraceContext();
  return (endpoint) => (req, ctx, next) => {
    let parent = callContexts.get(ctx.metadata) ?? context.active();
    if (!trace.getSpan(parent) && Object.hasOwn(ctx.metadata, TRACEPARENT))
      parent = propagator.extract(parent, ctx.metadata, metadataGetter);
    // Read per call: the directory refreshes endpoint.instance when the registry updates it.
    const { id, address, zone } = endpoint.instance;
    const attributes = rpcAttributes(ctx);
    const { host, port } = hostAndPort(address);
    attributes['server.address'] = attributes['net.peer.name'] = attributes['network.peer.address'] = host;
    attributes['server.port'] = attributes['net.peer.port'] = attributes['network.peer.port'] = port;
    attributes['tensile.instance.id'] = id;
    if (zone !== undefined) attributes['tensile.instance.zone'] = zone;
    attributes['tensile.attempt'] = ctx.attempt;
    const span = tracer.startSpan(ctx.method, { kind: SpanKind.CLIENT, attributes }, parent);
    if (!span.isRecording() && !isSpanContextValid(span.spanContext())) return next(req, ctx);
    const spanContext = trace.setSpan(parent, span);
    const metadata = { ...ctx.metadata };
    propagator.inject(spanContext, metadata, metadataSetter);
    return run(span, false, spanContext, next, req, { ...ctx, metadata });
  };
}

/**
 * A SERVER span per call, child of the caller's attempt span when its metadata carries trace
 * context. The handler runs with the span active (visible through an SDK's context manager),
 * and its `ctx.metadata.traceparent` names this span, so forwarding that header to a
 * downstream call continues the trace even without a context manager. Put it first in
 * `ServerOptions.filters`.
 */
export function serverTracing(options: TracingOptions = {}): Filter {
  const tracer = options.tracer ?? trace.getTracer(RPC_SYSTEM);
  const propagator = options.propagator ?? w3cTraceContext();
  return (req, ctx, next) => {
    const parent = propagator.extract(context.active(), ctx.metadata, metadataGetter);
    const attributes = rpcAttributes(ctx);
    if (ctx.peer !== undefined) {
      const { host, port } = hostAndPort(ctx.peer);
      attributes['network.peer.address'] = attributes['client.address'] = host;
      attributes['network.peer.port'] = port;
    }
    const span = tracer.startSpan(ctx.method, { kind: SpanKind.SERVER, attributes }, parent);
    if (!span.isRecording() && !isSpanContextValid(span.spanContext())) return next(req, ctx);
    const spanContext = trace.setSpan(parent, span);
    const metadata = { ...ctx.metadata };
    propagator.inject(spanContext, metadata, metadataSetter);
    return run(span, true, spanContext, next, req, { ...ctx, metadata });
  };
}

function rpcAttributes(ctx: CallContext): Attributes {
  const { service, method } = ctx;
  return {
    'rpc.system': RPC_SYSTEM,
    'rpc.service': service,
    'rpc.method': method.startsWith(`${service}/`) ? method.slice(service.length + 1) : method,
  };
}

/**
 * Codes that mean the server failed, per the OpenTelemetry gRPC conventions; on a server
 * span the others (bad input, not found…) are the caller's problem and leave the status unset.
 */
const SERVER_FAULTS = new Set<StatusCode>([
  'UNKNOWN',
  'DEADLINE_EXCEEDED',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
]);

/** Calls `next` with `active` as the active context and ends `span` with the outcome. */
async function run(
  span: Span,
  server: boolean,
  active: Context,
  next: Service,
  req: unknown,
  ctx: CallContext,
): Promise<unknown> {
  try {
    const value = await context.with(active, next, undefined, req, ctx);
    span.setAttribute('rpc.response.status_code', 'OK');
    span.setAttribute('rpc.grpc.status_code', Status.OK);
    return value;
  } catch (err) {
    // A handler's plain Error reaches the caller as INTERNAL; below the client it is a bug.
    const code: StatusCode = err instanceof RpcError ? err.code : server ? 'INTERNAL' : 'UNKNOWN';
    span.setAttribute('rpc.response.status_code', code);
    span.setAttribute('rpc.grpc.status_code', Status[code]);
    span.setAttribute('error.type', err instanceof RpcError ? code : ((err as Error)?.name ?? 'Error'));
    if (err instanceof Error) span.recordException(err);
    if (!server || SERVER_FAULTS.has(code)) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message ?? String(err) });
    }
    throw err;
  } finally {
    span.end();
  }
}

/** `host:port` or `[v6]:port` as OpenTelemetry wants them: the host without brackets. Never throws. */
function hostAndPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return {
    host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
    port: Number(address.slice(colon + 1)),
  };
}
