import { connect, Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient } from '../client/client.js';
import { Status } from '../core/errors.js';
import { Greeter } from '../test/greeter.js';
import { decodeError, encodeRequest, type Frame, FrameType } from '../wire/frame.js';
import { encodeClientHello, PROTOCOL_VERSION } from '../wire/handshake.js';
import { onServerFrames } from '../wire/test-server-frames.js';
import { createServer, type Server, type ServerOptions } from './server.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(closers.splice(0).map((c) => c()));
  await Promise.all(servers.splice(0).map((s) => s.close({ graceMs: 100 })));
});

async function start(options: ServerOptions = {}) {
  const server = createServer(options).implement(Greeter, {
    async sayHello({ name }) {
      return { message: `hello ${name}` };
    },
    async echo(input) {
      return input;
    },
    sleep: ({ ms }, ctx) =>
      new Promise((resolve) => {
        const t = setTimeout(() => resolve({ aborted: false }), ms);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve({ aborted: true });
        });
      }),
    async fail() {
      throw new Error('x');
    },
  });
  servers.push(server);
  const { port, address } = await server.listen({ host: '127.0.0.1', port: 0 });
  const client = createClient(Greeter, { addresses: [address], timeoutMs: 5_000 });
  closers.push(() => client.close());
  const healthy = async () => expect(await client.sayHello({ name: 'ok' })).toEqual({ message: 'hello ok' });
  await healthy();
  return { server, port, healthy };
}

/** A raw, handshaken JSON connection that records every frame it reads. */
async function rawPeer(port: number) {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  socket.on('error', () => {});
  const frames: Frame[] = [];
  const reader = onServerFrames(socket, (f) => frames.push(f));
  socket.write(encodeClientHello({ version: PROTOCOL_VERSION, codec: 'json' }));
  await expect.poll(() => reader.handshaken, { timeout: 5_000 }).toBe(true);
  const request = (id: number, method: string, input: unknown) =>
    encodeRequest(id, Buffer.from(method), 10_000, undefined, Buffer.from(JSON.stringify(input)));
  return { socket, frames, request };
}

describe('per-connection limit on calls in flight', () => {
  it('rejects calls over the limit with RESOURCE_EXHAUSTED, not processed, and answers every call once', async () => {
    const { port, healthy } = await start({ maxConcurrentCallsPerConnection: 4 });
    const p = await rawPeer(port);
    const burst = Array.from({ length: 12 }, (_, i) => p.request(i + 1, 'greeter/sleep', { ms: 200 }));
    p.socket.write(Buffer.concat(burst));
    await expect.poll(() => p.frames.length, { timeout: 5_000 }).toBe(12);
    const ids = p.frames.map((f) => f.callId).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const ok = p.frames.filter((f) => f.type === FrameType.RESPONSE).map((f) => f.callId);
    expect(ok.sort((a, b) => a - b)).toEqual([1, 2, 3, 4]);
    for (const f of p.frames.filter((x) => x.type === FrameType.ERROR)) {
      expect(f.flags).toBe(1);
      expect(decodeError(f)).toMatchObject({ code: Status.RESOURCE_EXHAUSTED, notProcessed: true });
      expect(decodeError(f).message).toMatch(/limit 4/);
    }
    // Capacity comes back as calls finish.
    p.socket.write(p.request(13, 'greeter/echo', 'again'));
    await expect.poll(() => p.frames.at(-1)?.callId).toBe(13);
    expect(p.frames.at(-1)?.type).toBe(FrameType.RESPONSE);
    await healthy();
  });

  it('announces the limits in the server hello', async () => {
    const { port } = await start({ maxConcurrentCallsPerConnection: 7, maxFrameBytes: 12345 });
    const socket = connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    socket.write(encodeClientHello({ version: PROTOCOL_VERSION, codec: 'json' }));
    const reply = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
    expect(reply.readUInt32BE(6)).toBe(12345);
    expect(reply.readUInt32BE(10)).toBe(7);
  });

  it('counts the limit per connection: a second connection is not refused', async () => {
    const { port } = await start({ maxConcurrentCallsPerConnection: 1 });
    const a = await rawPeer(port);
    const b = await rawPeer(port);
    a.socket.write(a.request(1, 'greeter/sleep', { ms: 300 }));
    b.socket.write(b.request(1, 'greeter/sleep', { ms: 10 }));
    await expect.poll(() => b.frames.length).toBe(1);
    expect(b.frames[0]!.type).toBe(FrameType.RESPONSE);
  });
});

describe('back-pressure', () => {
  it('stops reading from a client that does not read its replies, and keeps serving others', async () => {
    const congested: Socket[] = [];
    const pause = Socket.prototype.pause;
    vi.spyOn(Socket.prototype, 'pause').mockImplementation(function (this: Socket) {
      congested.push(this);
      return pause.call(this);
    });
    const { port, healthy } = await start();
    const p = await rawPeer(port);
    p.socket.pause();
    // 48 MB of echo requests, far more than the kernel buffers of both ends can hold.
    const payload = 'x'.repeat(32 * 1024);
    let id = 0;
    const batch = () =>
      Buffer.concat(Array.from({ length: 32 }, () => p.request(++id, 'greeter/echo', payload)));
    for (let i = 0; i < 48; i++) p.socket.write(batch());
    const find = () => congested.find((s) => s.remotePort === p.socket.localPort);
    await expect.poll(find, { timeout: 10_000 }).toBeDefined();
    const serverSide = find();
    let maxQueued = 0;
    for (let i = 0; i < 20; i++) {
      maxQueued = Math.max(maxQueued, serverSide!.writableLength);
      await healthy();
    }
    expect(serverSide!.isPaused()).toBe(true);
    // Replies queued in the server process: about one read's worth, not the 48 MB asked for.
    expect(maxQueued).toBeLessThan(8 * 1024 * 1024);
    // The requests the server has not read wait in the client's own buffer.
    expect(p.socket.writableLength).toBeGreaterThan(8 * 1024 * 1024);
    // Once the client reads again, the server resumes and answers everything.
    p.socket.resume();
    await expect.poll(() => p.frames.length, { timeout: 15_000, interval: 100 }).toBe(id);
    expect(p.frames.every((f) => f.type === FrameType.RESPONSE)).toBe(true);
  });
});
