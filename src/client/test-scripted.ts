import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { type CallContext, NEVER_ABORTED } from '../core/context.js';
import type { RpcError } from '../core/errors.js';
import { jsonCodec } from '../wire/codec.js';
import { encodeResponse, type Frame } from '../wire/frame.js';
import { FrameDecoder } from '../wire/frame-decoder.js';
import {
  decodeClientHello,
  encodeServerHello,
  HandshakeStatus,
  PROTOCOL_VERSION,
} from '../wire/handshake.js';
import { Connection } from './connection.js';

/** Hand-written peers for Connection tests. Register `afterEach(runCleanups)` in the test file. */
export const cleanups: (() => unknown)[] = [];
export async function runCleanups(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

export function ctx(method = 'greeter/echo', patch: Partial<CallContext> = {}): CallContext {
  return {
    method,
    service: 'greeter',
    deadline: Number.POSITIVE_INFINITY,
    signal: NEVER_ABORTED,
    metadata: {},
    attempt: 1,
    idempotent: false,
    ...patch,
  };
}

export interface ScriptedServer {
  address: string;
  /** 'data' events seen after the handshake, per connection. */
  dataEvents: number[];
  sockets: Socket[];
}

/** A hand-written server that does the handshake and hands every frame to `onFrame`. */
export async function scripted(
  onFrame: (frame: Frame, socket: Socket) => void,
  status: number = HandshakeStatus.OK,
  maxConcurrentCalls = 100,
): Promise<ScriptedServer> {
  const state: ScriptedServer = { address: '', dataEvents: [], sockets: [] };
  const net: NetServer = createNetServer((socket) => {
    socket.on('error', () => {});
    state.sockets.push(socket);
    const index = state.dataEvents.push(0) - 1;
    const decoder = new FrameDecoder();
    let hello: Buffer | undefined = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (hello) {
        hello = Buffer.concat([hello, chunk]);
        const parsed = decodeClientHello(hello);
        if (!parsed) return;
        chunk = hello.subarray(parsed.used);
        hello = undefined;
        socket.write(
          encodeServerHello({
            version: PROTOCOL_VERSION,
            status,
            maxFrameBytes: 1 << 20,
            maxConcurrentCalls,
          }),
        );
        if (chunk.length === 0) return;
      }
      state.dataEvents[index]!++;
      decoder.push(chunk, (f) => onFrame(f, socket));
    });
  });
  await new Promise<void>((resolve) => net.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of state.sockets) s.destroy();
        net.close(() => resolve());
      }),
  );
  const bound = net.address();
  if (!bound || typeof bound === 'string') throw new Error('no address');
  state.address = `127.0.0.1:${bound.port}`;
  return state;
}

export async function dial(address: string): Promise<Connection> {
  const conn = await Connection.connect({ address, codec: jsonCodec(), connectTimeoutMs: 2_000 });
  cleanups.push(() => conn.destroy());
  return conn;
}

export const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e as RpcError,
  );

export const reply = (socket: Socket, callId: number, value: unknown) =>
  socket.write(encodeResponse(callId, Buffer.from(JSON.stringify(value))));
