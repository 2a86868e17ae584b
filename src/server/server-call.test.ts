import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../client/client.js';
import { defineService, type, unary } from '../contract/define.js';
import { EMPTY_METADATA, withContext } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import type { Filter } from '../core/service.js';
import { createServer, type Server } from './server.js';
import { ServerCall } from './server-call.js';

const call = () =>
  new ServerCall(7, 'svc/m', 'svc', Number.POSITIVE_INFINITY, EMPTY_METADATA, true, '1.2.3.4:5');

describe('ServerCall', () => {
  it('is a complete call context', () => {
    const c = call();
    expect({ ...c }).toMatchObject({
      method: 'svc/m',
      service: 'svc',
      attempt: 1,
      idempotent: true,
      peer: '1.2.3.4:5',
      metadata: {},
    });
    expect(c.callId).toBe(7);
    expect(c.signal.aborted).toBe(false);
    expect(c.signal).toBe(c.signal);
  });

  it('aborts a signal read before the abort, with the first reason', () => {
    const c = call();
    const reasons: unknown[] = [];
    c.signal.addEventListener('abort', () => reasons.push(c.signal.reason));
    c.abort('first');
    c.abort('second');
    expect(reasons).toEqual(['first']);
  });

  it('hands out an already aborted signal when first read after the abort', () => {
    const c = call();
    const reason = new RpcError('CANCELLED', 'cancelled by the caller');
    c.abort(reason);
    expect(c.signal.aborted).toBe(true);
    expect(c.signal.reason).toBe(reason);
  });

  it('survives spreads and withContext: derived contexts share the live signal, not the bookkeeping', () => {
    const c = call();
    const spread = { ...c, metadata: { a: '1' } };
    const derived = withContext(c, { attempt: 2 });
    expect(spread.signal).toBe(c.signal);
    expect(derived.signal).toBe(c.signal);
    expect(Object.keys(spread)).not.toContain('callId');
    c.abort('gone');
    expect(spread.signal.aborted).toBe(true);
    expect(derived.signal.reason).toBe('gone');
  });

  it('refuses writes to the shared empty metadata', () => {
    expect(() => {
      (call().metadata as Record<string, string>).x = '1';
    }).toThrow(TypeError);
  });
});

const Slow = defineService('slow', {
  wait: unary({ input: type<{ ms: number }>(), output: type<{ aborted: boolean; reason?: string }>() }),
});

describe('ServerCall end to end', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await server?.close({ graceMs: 100 });
    server = undefined;
  });

  it('a handler that looks at its signal only after the caller cancelled sees it aborted; a spreading filter keeps it', async () => {
    const seen: { aborted: boolean; reason?: string }[] = [];
    // A server filter that derives the context the usual way, with a spread.
    const tagging: Filter = (req, ctx, next) =>
      next(req, { ...ctx, metadata: { ...ctx.metadata, tag: 'x' } });
    server = createServer({ filters: [tagging] }).implement(Slow, {
      async wait({ ms }, ctx) {
        await new Promise((resolve) => setTimeout(resolve, ms));
        const result = {
          aborted: ctx.signal.aborted,
          reason: (ctx.signal.reason as RpcError | undefined)?.code,
        };
        seen.push(result);
        return result;
      },
    });
    const { address } = await server.listen({ host: '127.0.0.1', port: 0 });
    const client = createClient(Slow, { addresses: [address], policies: false });
    try {
      expect(await client.wait({ ms: 0 })).toEqual({ aborted: false });
      const controller = new AbortController();
      const pending = client.wait({ ms: 300 }, { signal: controller.signal }).catch((e: RpcError) => e.code);
      setTimeout(() => controller.abort(), 50);
      expect(await pending).toBe('CANCELLED');
      await expect.poll(() => seen.length, { timeout: 5_000 }).toBe(2);
      expect(seen[1]).toEqual({ aborted: true, reason: 'CANCELLED' });
    } finally {
      await client.close();
    }
  });

  it('a 30-day timeout is honoured, not fired at once (setTimeout overflows above 2^31-1 ms)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const month = 30 * 24 * 3600 * 1000;
    let deadline = 0;
    server = createServer().implement(Slow, {
      async wait({ ms }, ctx) {
        deadline = ctx.deadline;
        await new Promise((resolve) => setTimeout(resolve, ms));
        return { aborted: ctx.signal.aborted };
      },
    });
    const { address } = await server.listen();
    const client = createClient(Slow, { addresses: [address], policies: false, timeoutMs: month });
    try {
      expect(await client.wait({ ms: 50 })).toEqual({ aborted: false });
      expect(deadline).toBeGreaterThan(Date.now() + month - 60_000);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).not.toContain('TimeoutOverflowWarning');
    } finally {
      process.off('warning', onWarning);
      await client.close();
    }
  });
});
