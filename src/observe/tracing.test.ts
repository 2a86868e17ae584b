import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Context,
  type ContextManager,
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../client/client.js';
import type { Metadata } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import type { Filter } from '../core/service.js';
import { createServer } from '../server/server.js';
import { Greeter } from '../test/greeter.js';
import { memoryTracer } from './memory-tracer.js';
import { attemptTracing, clientTracing, serverTracing } from './tracing.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** An instance traced by its own tracer, as another process would be. */
async function instance(name: string, behaviour: 'ok' | 'unavailable' = 'ok') {
  const tracer = memoryTracer();
  const seen: { metadata: Metadata; active?: string }[] = [];
  const server = createServer({ filters: [serverTracing({ tracer })] }).implement(Greeter, {
    sayHello: async ({ name: who }, ctx) => {
      seen.push({ metadata: ctx.metadata, active: trace.getActiveSpan()?.spanContext().spanId });
      return { message: `${name}: hello ${who}` };
    },
    echo: async (x) => {
      if (behaviour === 'unavailable')
        throw new RpcError('UNAVAILABLE', 'overloaded', { mayHaveProcessed: false });
      return x;
    },
    sleep: async () => ({ aborted: false }),
    fail: async ({ kind }) => {
      if (kind === 'rpc') throw new RpcError('NOT_FOUND', 'no such greeting');
      throw new Error('handler bug');
    },
  });
  cleanup.push(() => server.close({ graceMs: 100 }));
  const { address, port } = await server.listen();
  return { tracer, seen, address, port };
}

function tracedClient(addresses: string[], filters: Filter[] = []) {
  const tracer = memoryTracer();
  const client = createClient(Greeter, {
    addresses,
    filters: [clientTracing({ tracer }), ...filters],
    endpointFilters: [attemptTracing({ tracer })],
  });
  cleanup.push(() => client.close());
  return { tracer, client };
}

describe('tracing over a real connection', () => {
  it('links call span → attempt span → server span in one trace', async () => {
    const server = await instance('a');
    const { tracer, client } = tracedClient([server.address]);
    const callerMetadata = { 'x-user': 'ada' };
    await expect(client.sayHello({ name: 'ada' }, { metadata: callerMetadata })).resolves.toEqual({
      message: 'a: hello ada',
    });

    const [call, attempt, ...rest] = tracer.spans;
    expect(rest).toEqual([]);
    expect(call).toMatchObject({ name: 'greeter/sayHello', kind: SpanKind.CLIENT, ended: true });
    expect(call!.parentSpanId).toBeUndefined();
    expect(call!.attributes).toMatchObject({
      'rpc.system': 'tensile',
      'rpc.service': 'greeter',
      'rpc.method': 'sayHello',
      'rpc.response.status_code': 'OK',
    });
    expect(attempt).toMatchObject({ traceId: call!.traceId, parentSpanId: call!.spanId, ended: true });
    expect(attempt!.attributes).toMatchObject({
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'net.peer.name': '127.0.0.1',
      'net.peer.port': server.port,
      'tensile.instance.id': server.address,
      'tensile.attempt': 1,
    });

    const [serverSpan] = server.tracer.spans;
    expect(server.tracer.spans).toHaveLength(1);
    expect(serverSpan).toMatchObject({
      name: 'greeter/sayHello',
      kind: SpanKind.SERVER,
      traceId: call!.traceId,
      parentSpanId: attempt!.spanId,
      parentIsRemote: true,
      status: { code: SpanStatusCode.UNSET },
    });
    expect(serverSpan!.attributes['network.peer.address']).toBe('127.0.0.1');
    // The handler's metadata names its own span, so forwarding it continues the trace.
    expect(server.seen[0]!.metadata).toMatchObject({
      'x-user': 'ada',
      traceparent: `00-${call!.traceId}-${serverSpan!.spanId}-01`,
    });
    expect(callerMetadata).toEqual({ 'x-user': 'ada' });
  });

  it('records errors: every client span fails, the server span only for server faults', async () => {
    const server = await instance('a');
    const { tracer, client } = tracedClient([server.address]);
    await expect(client.fail({ kind: 'rpc' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(client.fail({ kind: 'throw' })).rejects.toMatchObject({ code: 'INTERNAL' });

    expect(tracer.spans).toHaveLength(4);
    for (const span of tracer.spans) expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(tracer.spans.map((s) => s.attributes['rpc.response.status_code'])).toEqual([
      'NOT_FOUND',
      'NOT_FOUND',
      'INTERNAL',
      'INTERNAL',
    ]);
    const [notFound, internal] = server.tracer.spans;
    expect(notFound).toMatchObject({
      status: { code: SpanStatusCode.UNSET },
      attributes: { 'rpc.response.status_code': 'NOT_FOUND', 'rpc.grpc.status_code': 5 },
    });
    expect(internal).toMatchObject({
      status: { code: SpanStatusCode.ERROR, message: 'handler bug' },
      attributes: { 'rpc.response.status_code': 'INTERNAL', 'error.type': 'Error' },
    });
    expect(internal!.events).toEqual([
      { name: 'exception', attributes: { 'exception.type': 'Error', 'exception.message': 'handler bug' } },
    ]);
  });

  it('gives every attempt its own span under the call span, naming the instance it reached', async () => {
    const bad = await instance('bad', 'unavailable');
    const good = await instance('good');
    // A minimal retry (the real ones live in src/policy): try again elsewhere on UNAVAILABLE.
    const retry: Filter = async (req, ctx, next) => {
      const avoid = new Set<string>();
      for (let attempt = 1; ; attempt++) {
        try {
          return await next(req, { ...ctx, attempt, avoid });
        } catch (err) {
          if (!(err instanceof RpcError && err.code === 'UNAVAILABLE') || attempt === 3) throw err;
          if (err.instance) avoid.add(err.instance);
        }
      }
    };
    const { tracer, client } = tracedClient([bad.address, good.address], [retry]);
    await expect.poll(() => client.$directory.routable().length).toBe(2);
    // Whatever the balancer, keep calling until some first attempt has met the bad instance.
    let n = 0;
    for (; n < 4 || (bad.tracer.spans.length === 0 && n < 100); n++)
      await expect(client.echo(n)).resolves.toBe(n);
    expect(bad.tracer.spans.length).toBeGreaterThan(0);

    const calls = tracer.spans.filter((s) => s.parentSpanId === undefined);
    expect(calls).toHaveLength(n);
    const serverSpans = [...bad.tracer.spans, ...good.tracer.spans];
    const attempts = tracer.spans.filter((s) => s.parentSpanId !== undefined);
    expect(attempts.length).toBe(serverSpans.length);
    expect(good.tracer.spans).toHaveLength(n);
    for (const attempt of attempts) {
      const call = calls.find((c) => c.spanId === attempt.parentSpanId);
      expect(call?.traceId).toBe(attempt.traceId);
      const reached = serverSpans.find((s) => s.parentSpanId === attempt.spanId);
      expect(reached?.traceId).toBe(attempt.traceId);
      const target = bad.tracer.spans.includes(reached!) ? bad : good;
      expect(attempt.attributes['tensile.instance.id']).toBe(target.address);
      expect(attempt.status.code).toBe(target === bad ? SpanStatusCode.ERROR : SpanStatusCode.UNSET);
    }
  });

  it('continues a trace from a traceparent the caller passes in metadata', async () => {
    const server = await instance('a');
    const { tracer, client } = tracedClient([server.address]);
    const upstream = `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`;
    await client.sayHello({ name: 'x' }, { metadata: { traceparent: upstream } });
    expect(tracer.spans[0]).toMatchObject({ traceId: 'ab'.repeat(16), parentSpanId: 'cd'.repeat(8) });
    expect(server.tracer.spans[0]!.traceId).toBe('ab'.repeat(16));
  });
});

describe('tracing without an SDK', () => {
  it('adds nothing to untraced calls and passes an incoming trace through unchanged', async () => {
    const received: Metadata[] = [];
    const server = createServer().implement(Greeter, {
      sayHello: async (_input, ctx) => {
        received.push(ctx.metadata);
        return { message: 'hi' };
      },
      echo: async (x) => x,
      sleep: async () => ({ aborted: false }),
      fail: async () => ({}) as never,
    });
    cleanup.push(() => server.close({ graceMs: 100 }));
    const { address } = await server.listen();
    // No tracer option and no global TracerProvider: the API's no-op tracer.
    const client = createClient(Greeter, {
      addresses: [address],
      filters: [clientTracing()],
      endpointFilters: [attemptTracing()],
    });
    cleanup.push(() => client.close());
    await client.sayHello({ name: 'x' }, { metadata: { 'x-a': '1' } });
    const upstream = `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`;
    await client.sayHello({ name: 'x' }, { metadata: { traceparent: upstream } });
    expect(received).toEqual([{ 'x-a': '1' }, { traceparent: upstream }]);
  });
});

describe('tracing with a context manager', () => {
  /** What an SDK's AsyncLocalStorage context manager does, in miniature. */
  function alsContextManager(): ContextManager {
    const storage = new AsyncLocalStorage<Context>();
    const manager: ContextManager = {
      active: () => storage.getStore() ?? ROOT_CONTEXT,
      with: (ctx, fn, thisArg, ...args) => storage.run(ctx, () => fn.call(thisArg, ...args)),
      bind: (_ctx, target) => target,
      enable: () => manager,
      disable: () => {
        storage.disable();
        return manager;
      },
    };
    return manager;
  }

  it('parents the call span on the active span and activates the server span in the handler', async () => {
    context.setGlobalContextManager(alsContextManager());
    cleanup.push(async () => context.disable());
    const server = await instance('a');
    const { tracer, client } = tracedClient([server.address]);
    const app = memoryTracer();
    await app.startActiveSpan('request', async (span) => {
      await client.sayHello({ name: 'x' });
      span.end();
    });
    const [root] = app.spans;
    expect(tracer.spans[0]).toMatchObject({ traceId: root!.traceId, parentSpanId: root!.spanId });
    expect(server.seen[0]!.active).toBe(server.tracer.spans[0]!.spanId);
  });
});
