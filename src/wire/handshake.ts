import { ProtocolError } from './frame.js';

/** "TNSL": lets a server reject a stray HTTP client or port scanner on the first bytes. */
export const MAGIC = Buffer.from('TNSL', 'ascii');
export const PROTOCOL_VERSION = 1;
const MAX_CODEC_NAME = 32;

export const HandshakeStatus = { OK: 0, BAD_VERSION: 1, BAD_CODEC: 2 } as const;

export interface ClientHello {
  version: number;
  codec: string;
}

export interface ServerHello {
  version: number;
  status: number;
  maxFrameBytes: number;
  maxConcurrentCalls: number;
}

/** magic(4) version(1) codecLen(1) codec(ascii) */
export function encodeClientHello(hello: ClientHello): Buffer {
  const name = Buffer.from(hello.codec, 'ascii');
  if (name.length === 0 || name.length > MAX_CODEC_NAME)
    throw new ProtocolError('codec name must be 1..32 bytes');
  return Buffer.concat([MAGIC, Buffer.from([hello.version, name.length]), name]);
}

/** Returns undefined until enough bytes arrived; throws on bad magic. */
export function decodeClientHello(buf: Buffer): { hello: ClientHello; used: number } | undefined {
  checkMagic(buf);
  if (buf.length < 6) return undefined;
  const len = buf[5]!;
  if (len === 0 || len > MAX_CODEC_NAME) throw new ProtocolError(`bad codec name length ${len} in handshake`);
  if (buf.length < 6 + len) return undefined;
  return { hello: { version: buf[4]!, codec: buf.toString('ascii', 6, 6 + len) }, used: 6 + len };
}

/** magic(4) version(1) status(1) maxFrameBytes(4) maxConcurrentCalls(4) */
export function encodeServerHello(hello: ServerHello): Buffer {
  const buf = Buffer.allocUnsafe(14);
  MAGIC.copy(buf, 0);
  buf[4] = hello.version;
  buf[5] = hello.status;
  buf.writeUInt32BE(hello.maxFrameBytes, 6);
  buf.writeUInt32BE(hello.maxConcurrentCalls, 10);
  return buf;
}

export const SERVER_HELLO_BYTES = 14;

export function decodeServerHello(buf: Buffer): ServerHello | undefined {
  checkMagic(buf);
  if (buf.length < SERVER_HELLO_BYTES) return undefined;
  return {
    version: buf[4]!,
    status: buf[5]!,
    maxFrameBytes: buf.readUInt32BE(6),
    maxConcurrentCalls: buf.readUInt32BE(10),
  };
}

function checkMagic(buf: Buffer): void {
  const n = Math.min(buf.length, MAGIC.length);
  if (buf.compare(MAGIC, 0, n, 0, n) !== 0) throw new ProtocolError('bad handshake: not a Tensile peer');
}
