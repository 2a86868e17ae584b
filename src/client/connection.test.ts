import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcError } from '../core/errors.js';
import { createServer, type Server } from '../server/server.js';
import { Greeter } from '../test/greeter.js';
import { jsonCodec } from '../wire/codec.js';
import {
  decodeRequest,
  encodeEmpty,
  encodeGoAway,
  encodeResponse,
  type Frame,
  FrameType,
} from '../wire/frame.js';
import { HandshakeStatus } from '../wire/handshake.js';
import { Connection } from './connection.js';
import { cleanups, ctx, dial, failure, reply, runCleanups, scripted } from './test-scripted.js';

afterEach(runCleanups);

describe('Connection failures and retry safety', () => {
  it('fails a call whose connection the server kills mid-call with UNAVAILABLE, may have processed', async () => {
    const server = await scripted((_, socket) => socket.destroy());
    const conn = await dial(server.address);
    const err = await failure(conn.call({ a: 1 }, ctx()));
    expect(err).toBeInstanceOf(RpcError);
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.mayHaveProcessed).toBe(true);
    expect(conn.isOpen).toBe(false);
  });

  it('fails a call that was never flushed to the socket as not processed', async () => {
    const seen: number[] = [];
    const server = await scripted((f) => seen.push(f.callId));
    const conn = await dial(server.address);
    const call = failure(conn.call({ a: 1 }, ctx()));
    // Same tick: the frame is still in the writer's queue when the socket goes.
    await Promise.resolve();
    conn.destroy();
    const err = await call;
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.mayHaveProcessed).toBe(false);
    expect(seen).toEqual([]);
  });

  it('rejects a refused connect as UNAVAILABLE, not processed', async () => {
    const server = await scripted(() => {});
    const address = server.address;
    await cleanups.pop()!();
    const err = await failure(Connection.connect({ address, codec: jsonCodec(), connectTimeoutMs: 2_000 }));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.mayHaveProcessed).toBe(false);
  });

  it('rejects a server that refuses the codec as UNAVAILABLE, not processed', async () => {
    const server = await scripted(() => {}, HandshakeStatus.BAD_CODEC);
    const err = await failure(Connection.connect({ address: server.address, codec: jsonCodec() }));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.mayHaveProcessed).toBe(false);
    expect(err.message).toMatch(/codec json not supported/);
  });

  // Known bug: Connection.onFrame settles the call (clearing its deadline timer) before decodeError
  // throws, so failAll no longer sees it and the call never settles. Drop `.fails` once fixed.
  it('fails a call answered by a malformed ERROR frame instead of leaving it pending', async () => {
    // An ERROR body of 2 bytes cannot hold its code and message length.
    const server = await scripted((f, socket) =>
      socket.write(encodeEmpty(FrameType.ERROR, f.callId, Buffer.from([3, 0]))),
    );
    const conn = await dial(server.address);
    const outcome = await Promise.race([
      failure(conn.call(1, ctx())),
      new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), 1_000)),
    ]);
    expect(outcome).toBeInstanceOf(RpcError);
    expect((outcome as RpcError).code).toBe('UNAVAILABLE');
  });

  it('fails calls as may-have-processed when the server sends garbage frames', async () => {
    const server = await scripted((_, socket) =>
      socket.write(Buffer.from([0, 0, 0, 6, 0x99, 0, 0, 0, 0, 1])),
    );
    const conn = await dial(server.address);
    const err = await failure(conn.call(1, ctx()));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.mayHaveProcessed).toBe(true);
    expect(err.message).toMatch(/protocol error/);
  });
});

describe('GOAWAY', () => {
  it('fails calls above lastCallId as not processed and completes those at or below it', async () => {
    const requests: { id: number; socket: Socket }[] = [];
    const server = await scripted((f, socket) => {
      if (f.type === FrameType.REQUEST) requests.push({ id: f.callId, socket });
    });
    const conn = await dial(server.address);
    const goAways: { lastCallId: number; reason: string }[] = [];
    conn.onGoAway((e) => goAways.push(e));
    const calls = [1, 2, 3, 4].map((i) =>
      conn.call(i, ctx()).then(
        (v) => ({ v }),
        (e: RpcError) => e,
      ),
    );
    await expect.poll(() => requests.length).toBe(4);
    const socket = requests[0]!.socket;
    socket.write(encodeGoAway(2, 0, 'draining for a deploy'));
    await expect.poll(() => goAways.length).toBe(1);
    expect(goAways[0]).toEqual({ lastCallId: 2, reason: 'draining for a deploy' });
    expect(conn.isOpen).toBe(false);
    // New calls go nowhere: refused locally, never sent.
    const late = await failure(conn.call(5, ctx()));
    expect([late.code, late.mayHaveProcessed]).toEqual(['UNAVAILABLE', false]);
    reply(socket, 1, 'one');
    reply(socket, 2, 'two');
    const results = await Promise.all(calls);
    expect(results.slice(0, 2)).toEqual([{ v: 'one' }, { v: 'two' }]);
    for (const r of results.slice(2)) {
      expect(r).toBeInstanceOf(RpcError);
      expect([(r as RpcError).code, (r as RpcError).mayHaveProcessed]).toEqual(['UNAVAILABLE', false]);
    }
    expect(requests.map((r) => r.id)).toEqual([1, 2, 3, 4]);
    // With nothing left in flight the client closes its side.
    await expect.poll(() => server.sockets[0]!.readableEnded).toBe(true);
  });

  it('reports a non-graceful GOAWAY code in the reason', async () => {
    const server = await scripted((f, socket) => {
      if (f.type === FrameType.REQUEST) socket.write(encodeGoAway(0, 8, 'frame too big'));
    });
    const conn = await dial(server.address);
    const reasons: string[] = [];
    conn.onGoAway((e) => reasons.push(e.reason));
    const err = await failure(conn.call(1, ctx()));
    expect([err.code, err.mayHaveProcessed]).toEqual(['UNAVAILABLE', false]);
    expect(reasons).toEqual(['RESOURCE_EXHAUSTED: frame too big']);
  });
});

describe('ping', () => {
  it('measures a round trip against a real server', async () => {
    const server: Server = createServer().implement(Greeter, {
      sayHello: async () => ({ message: '' }),
      echo: async (x) => x,
      sleep: async () => ({ aborted: false }),
      fail: async () => {
        throw new Error('x');
      },
    });
    cleanups.push(() => server.close({ graceMs: 100 }));
    const { address } = await server.listen();
    const conn = await dial(address);
    const rtts = await Promise.all([conn.ping(), conn.ping(), conn.ping()]);
    for (const rtt of rtts) {
      expect(typeof rtt).toBe('number');
      expect(rtt).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(rtt)).toBe(true);
    }
  });

  it('rejects UNAVAILABLE when no PONG comes back', async () => {
    const server = await scripted(() => {});
    const conn = await dial(server.address);
    const err = await failure(conn.ping(50));
    expect([err.code, err.mayHaveProcessed]).toEqual(['UNAVAILABLE', false]);
  });

  it('answers a PING from the server with a PONG carrying the same body', async () => {
    const pongs: Frame[] = [];
    const server = await scripted((f) => {
      if (f.type === FrameType.PONG) pongs.push({ ...f, body: Buffer.from(f.body) });
    });
    await dial(server.address);
    await expect.poll(() => server.sockets.length).toBe(1);
    server.sockets[0]!.write(encodeEmpty(FrameType.PING, 77, Buffer.from('12345678')));
    await expect.poll(() => pongs.length).toBe(1);
    expect([pongs[0]!.callId, pongs[0]!.body.toString()]).toEqual([77, '12345678']);
  });
});

describe('write coalescing', () => {
  it('sends a burst of 100 calls in one tick as a few socket writes', async () => {
    const server = await scripted((f, socket) => {
      if (f.type !== FrameType.REQUEST) return;
      const req = decodeRequest(f.body);
      socket.write(encodeResponse(f.callId, Buffer.from(req.payload)));
    });
    const conn = await dial(server.address);
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => conn.call({ i }, ctx())));
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => ({ i })));
    expect(server.dataEvents).toHaveLength(1);
    // One write of ~100 frames; TCP may split it, but nowhere near one segment per call.
    expect(server.dataEvents[0]).toBeLessThanOrEqual(10);
  });

  it('sends the remaining timeout with each request', async () => {
    const timeouts: (number | undefined)[] = [];
    const server = await scripted((f, socket) => {
      timeouts.push(decodeRequest(f.body).timeoutMs);
      reply(socket, f.callId, null);
    });
    const conn = await dial(server.address);
    await conn.call(1, ctx('greeter/echo', { deadline: Date.now() + 60_000 }));
    await conn.call(2, ctx());
    expect(timeouts[0]).toBeGreaterThan(50_000);
    expect(timeouts[0]).toBeLessThanOrEqual(60_000);
    expect(timeouts[1]).toBeUndefined();
  });
});

describe('long deadlines', () => {
  it('a 30-day deadline does not fire at once (setTimeout overflows above 2^31-1 ms)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    cleanups.push(() => process.off('warning', onWarning));
    const timeouts: (number | undefined)[] = [];
    const server = await scripted((f, socket) => {
      timeouts.push(decodeRequest(f.body).timeoutMs);
      setTimeout(() => reply(socket, f.callId, 'late but fine'), 50);
    });
    const conn = await dial(server.address);
    const month = 30 * 24 * 3600 * 1000;
    expect(await conn.call(1, ctx('greeter/echo', { deadline: Date.now() + month }))).toBe('late but fine');
    expect(timeouts[0]).toBeGreaterThan(month - 60_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });
});

describe('close', () => {
  it('lets a call in flight finish, then closes', async () => {
    const server = await scripted((f, socket) => setTimeout(() => reply(socket, f.callId, 'late'), 50));
    const conn = await dial(server.address);
    const call = conn.call(1, ctx());
    await expect.poll(() => server.dataEvents[0]).toBe(1);
    const closed = conn.close();
    await expect(conn.call(2, ctx())).rejects.toMatchObject({ code: 'UNAVAILABLE', mayHaveProcessed: false });
    expect(await call).toBe('late');
    await closed;
    expect(conn.isOpen).toBe(false);
  });

  it('settles against a hung peer with nothing in flight: the socket is destroyed after the linger', async () => {
    const server = await scripted(() => {});
    const conn = await dial(server.address);
    // A paused socket reads nothing, not even our FIN: like a SIGSTOPped process, it never closes its side.
    server.sockets[0]!.pause();
    await conn.close(200);
    expect(conn.isOpen).toBe(false);
  });

  it('a call cancelled while the connection drains sends its CANCEL before the FIN', async () => {
    const seen: number[] = [];
    const server = await scripted((f) => seen.push(f.type));
    const conn = await dial(server.address);
    const ac = new AbortController();
    const call = failure(conn.call(1, ctx('greeter/echo', { signal: ac.signal })));
    await expect.poll(() => seen).toContain(FrameType.REQUEST);
    const closed = conn.close(5_000);
    ac.abort();
    expect((await call).code).toBe('CANCELLED');
    await expect.poll(() => seen).toContain(FrameType.CANCEL);
    await closed;
    expect(conn.isOpen).toBe(false);
  });

  it('fails calls still pending after the grace period as UNAVAILABLE, may have processed', async () => {
    const server = await scripted((_, socket) => socket.pause());
    const conn = await dial(server.address);
    const call = failure(conn.call({ a: 1 }, ctx()));
    await expect.poll(() => server.dataEvents[0]).toBe(1);
    await conn.close(200);
    const err = await call;
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.mayHaveProcessed).toBe(true);
    expect(err.message).toMatch(/grace period/);
  });
});

describe('congested socket (peer stops reading)', () => {
  /** A peer that handshakes, then stops reading; `resume()` starts it again. Records request methods. */
  async function stalled() {
    const methods: string[] = [];
    const server = await scripted((f) => {
      if (f.type === FrameType.REQUEST) methods.push(decodeRequest(f.body).method);
    });
    const conn = await dial(server.address);
    server.sockets[0]!.pause();
    // 40 × 900 KB: far more than the loopback buffers hold, so the writer stays congested.
    const big = 'x'.repeat(900_000);
    const fillers = Array.from({ length: 40 }, () => conn.call(big, ctx('s/big')).catch(() => {}));
    await new Promise((resolve) => setImmediate(resolve));
    return { conn, methods, fillers, resume: () => server.sockets[0]!.resume() };
  }

  const settledWithin = <T>(p: Promise<T>, ms: number) =>
    Promise.race([
      p,
      new Promise<string>((r) => setTimeout(() => r(`still pending after ${ms} ms`), ms).unref()),
    ]);

  it('a call queued behind a congested socket fails at its deadline, as never processed', async () => {
    const { conn } = await stalled();
    const call = failure(conn.call('small', ctx('s/small', { deadline: Date.now() + 100 })));
    const err = (await settledWithin(call, 5_000)) as RpcError;
    expect(err).toBeInstanceOf(RpcError);
    expect(err.code).toBe('DEADLINE_EXCEEDED');
    expect(err.mayHaveProcessed).toBe(false);
  });

  it('a queued call fails at once when its signal aborts', async () => {
    const { conn } = await stalled();
    const ac = new AbortController();
    const call = failure(conn.call('small', ctx('s/small', { signal: ac.signal })));
    ac.abort();
    const err = (await settledWithin(call, 5_000)) as RpcError;
    expect(err).toBeInstanceOf(RpcError);
    expect(err.code).toBe('CANCELLED');
    expect(err.mayHaveProcessed).toBe(false);
  });

  it('a queued call aborted with an RpcError reason is still never processed', async () => {
    const { conn } = await stalled();
    const ac = new AbortController();
    const call = failure(conn.call('small', ctx('s/small', { signal: ac.signal })));
    ac.abort(new RpcError('UNAVAILABLE', 'caller gave up'));
    const err = (await settledWithin(call, 5_000)) as RpcError;
    expect(err).toMatchObject({ code: 'UNAVAILABLE', message: 'caller gave up', mayHaveProcessed: false });
  });

  it('a queued call that gave up is never written once the socket drains', async () => {
    const { conn, methods, resume } = await stalled();
    // Cancelled rather than timed out: a deadline would also stop a stale waiter from writing.
    const ac = new AbortController();
    const gaveUp = failure(conn.call('small', ctx('s/gave-up', { signal: ac.signal })));
    ac.abort();
    await gaveUp;
    resume();
    await expect.poll(() => methods.length, { timeout: 10_000 }).toBe(40);
    // Frames go out in order: once a later call arrives, the one that gave up can no longer come.
    void conn.call('marker', ctx('s/marker')).catch(() => {});
    await expect.poll(() => methods.at(-1), { timeout: 10_000 }).toBe('s/marker');
    expect(methods).not.toContain('s/gave-up');
  });
});
