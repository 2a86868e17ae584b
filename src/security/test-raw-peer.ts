import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { decodeError, encodeMetadata, encodeRequest, type Frame, FrameType } from '../wire/frame.js';
import { encodeClientHello, PROTOCOL_VERSION } from '../wire/handshake.js';
import { onServerFrames } from '../wire/test-server-frames.js';

/** A bare TLS peer speaking the wire protocol with JSON, for tests that must see the socket. */
export interface RawTlsPeer {
  readonly socket: TLSSocket;
  call(method: string, input: unknown, metadata?: Record<string, string>): Promise<unknown>;
  close(): void;
}

export async function rawTlsPeer(port: number, options: ConnectionOptions): Promise<RawTlsPeer> {
  const socket = tlsConnect({ host: '127.0.0.1', port, ...options });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed during the TLS handshake')));
  });
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const onFrame = (f: Frame) => {
    const w = waiting.get(f.callId);
    if (!w) return;
    waiting.delete(f.callId);
    if (f.type === FrameType.RESPONSE) w.resolve(JSON.parse(Buffer.from(f.body).toString()));
    else if (f.type === FrameType.ERROR) {
      const e = decodeError(f);
      w.reject(Object.assign(new Error(e.message), { code: e.code }));
    }
  };
  onServerFrames(socket, onFrame);
  socket.once('close', () => {
    for (const w of waiting.values()) w.reject(new Error('connection closed'));
    waiting.clear();
  });
  socket.write(encodeClientHello({ version: PROTOCOL_VERSION, codec: 'json' }));
  let nextId = 0;
  return {
    socket,
    call(method, input, metadata) {
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        socket.write(
          encodeRequest(
            id,
            Buffer.from(method),
            10_000,
            encodeMetadata(metadata),
            Buffer.from(JSON.stringify(input)),
          ),
        );
      });
    },
    close: () => socket.destroy(),
  };
}
