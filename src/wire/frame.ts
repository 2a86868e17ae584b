import { EMPTY_METADATA, type Metadata } from '../core/context.js';
import type { StatusCode } from '../core/errors.js';

/** Frame types; see docs/protocol.md. */
export const FrameType = {
  REQUEST: 0x01,
  RESPONSE: 0x02,
  ERROR: 0x03,
  CANCEL: 0x04,
  PING: 0x05,
  PONG: 0x06,
  GOAWAY: 0x07,
} as const;
export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

/** ERROR flag: the request never reached a handler, so it is safe to retry anywhere. */
export const FLAG_NOT_PROCESSED = 0x01;

/** length(4) + type(1) + flags(1) + callId(4). The length counts everything after itself. */
export const HEADER_BYTES = 10;
export const LENGTH_BYTES = 4;
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** REQUEST timeout value meaning "no deadline". */
export const NO_TIMEOUT = 0xffffffff;
export const MAX_CALL_ID = 0xffffffff;

/** A stream that breaks the protocol; `code` is the status the GOAWAY that ends the connection carries. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    message: string,
    readonly code: StatusCode = 'INTERNAL',
  ) {
    super(message);
  }
}

export interface Frame {
  type: number;
  flags: number;
  callId: number;
  /** Body after the header; a view into the receive buffer, valid until the next push. */
  body: Buffer;
}

function header(buf: Buffer, type: number, flags: number, callId: number): void {
  buf.writeUInt32BE(buf.length - LENGTH_BYTES, 0);
  buf[4] = type;
  buf[5] = flags;
  buf.writeUInt32BE(callId, 6);
}

export function encodeMetadata(metadata: Readonly<Metadata> | undefined): Buffer | undefined {
  if (!metadata || metadata === EMPTY_METADATA) return undefined;
  const keys = Object.keys(metadata);
  if (keys.length === 0) return undefined;
  const parts: Buffer[] = [];
  for (const key of keys) {
    const k = Buffer.from(key, 'utf8');
    const v = Buffer.from(String(metadata[key]), 'utf8');
    if (k.length === 0 || k.length > 0xff)
      throw new ProtocolError(`metadata key length must be 1..255 bytes: ${key}`);
    if (v.length > 0xffff) throw new ProtocolError(`metadata value for ${key} is over 65535 bytes`);
    const head = Buffer.allocUnsafe(3);
    head[0] = k.length;
    head.writeUInt16BE(v.length, 1);
    parts.push(head, k, v);
  }
  const out = Buffer.concat(parts);
  if (out.length > 0xffff) throw new ProtocolError('metadata is over 65535 bytes');
  return out;
}

export function decodeMetadata(buf: Buffer): Metadata {
  const out: Metadata = {};
  let i = 0;
  while (i < buf.length) {
    if (i + 3 > buf.length) throw new ProtocolError('truncated metadata entry');
    const kLen = buf[i]!;
    const vLen = buf.readUInt16BE(i + 1);
    i += 3;
    if (kLen === 0 || i + kLen + vLen > buf.length) throw new ProtocolError('truncated metadata entry');
    const key = buf.toString('utf8', i, i + kLen);
    i += kLen;
    const value = buf.toString('utf8', i, i + vLen);
    // A plain assignment to "__proto__" would set the prototype (or be ignored) instead of adding an entry.
    if (key === '__proto__')
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
    i += vLen;
  }
  return out;
}

export interface RequestFrame {
  timeoutMs: number | undefined;
  method: string;
  metadata: Readonly<Metadata>;
  payload: Buffer;
}

/** A payload as bytes, or as text written as UTF-8 straight into the frame (see `Codec.encodeText`). */
export type Payload = Uint8Array | string;

const payloadBytes = (payload: Payload): number =>
  typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;

function putPayload(buf: Buffer, payload: Payload, offset: number): void {
  if (typeof payload === 'string') buf.write(payload, offset, 'utf8');
  else buf.set(payload, offset);
}

/** `method` is pre-encoded by callers that cache it per method (saves a UTF-8 encode per call). */
export function encodeRequest(
  callId: number,
  method: Buffer,
  timeoutMs: number | undefined,
  metadata: Buffer | undefined,
  payload: Payload,
): Buffer {
  const metaLen = metadata?.length ?? 0;
  const buf = Buffer.allocUnsafe(HEADER_BYTES + 4 + 2 + method.length + 2 + metaLen + payloadBytes(payload));
  header(buf, FrameType.REQUEST, 0, callId);
  let o = HEADER_BYTES;
  buf.writeUInt32BE(
    timeoutMs === undefined ? NO_TIMEOUT : Math.min(Math.max(0, Math.ceil(timeoutMs)), NO_TIMEOUT - 1),
    o,
  );
  o += 4;
  buf.writeUInt16BE(method.length, o);
  o += 2;
  method.copy(buf, o);
  o += method.length;
  buf.writeUInt16BE(metaLen, o);
  o += 2;
  if (metadata) {
    metadata.copy(buf, o);
    o += metaLen;
  }
  putPayload(buf, payload, o);
  return buf;
}

export function decodeRequest(body: Buffer): RequestFrame {
  if (body.length < 8) throw new ProtocolError('REQUEST frame too short');
  const rawTimeout = body.readUInt32BE(0);
  const methodLen = body.readUInt16BE(4);
  if (6 + methodLen + 2 > body.length) throw new ProtocolError('REQUEST method name truncated');
  const method = body.toString('utf8', 6, 6 + methodLen);
  const metaLen = body.readUInt16BE(6 + methodLen);
  const metaStart = 8 + methodLen;
  if (metaStart + metaLen > body.length) throw new ProtocolError('REQUEST metadata truncated');
  return {
    timeoutMs: rawTimeout === NO_TIMEOUT ? undefined : rawTimeout,
    method,
    metadata: metaLen === 0 ? EMPTY_METADATA : decodeMetadata(body.subarray(metaStart, metaStart + metaLen)),
    payload: body.subarray(metaStart + metaLen),
  };
}

export function encodeResponse(callId: number, payload: Payload): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + payloadBytes(payload));
  header(buf, FrameType.RESPONSE, 0, callId);
  putPayload(buf, payload, HEADER_BYTES);
  return buf;
}

export interface ErrorFrame {
  code: number;
  message: string;
  notProcessed: boolean;
  details: Buffer;
}

export function encodeError(
  callId: number,
  code: number,
  message: string,
  notProcessed: boolean,
  details?: Uint8Array,
): Buffer {
  const msg = Buffer.from(message.length > 4096 ? `${message.slice(0, 4093)}...` : message, 'utf8');
  const detailLen = details?.length ?? 0;
  const buf = Buffer.allocUnsafe(HEADER_BYTES + 1 + 2 + msg.length + detailLen);
  header(buf, FrameType.ERROR, notProcessed ? FLAG_NOT_PROCESSED : 0, callId);
  buf[HEADER_BYTES] = code;
  buf.writeUInt16BE(msg.length, HEADER_BYTES + 1);
  msg.copy(buf, HEADER_BYTES + 3);
  if (details) buf.set(details, HEADER_BYTES + 3 + msg.length);
  return buf;
}

export function decodeError(frame: Frame): ErrorFrame {
  const body = frame.body;
  if (body.length < 3) throw new ProtocolError('ERROR frame too short');
  const msgLen = body.readUInt16BE(1);
  if (3 + msgLen > body.length) throw new ProtocolError('ERROR message truncated');
  return {
    code: body[0]!,
    message: body.toString('utf8', 3, 3 + msgLen),
    notProcessed: (frame.flags & FLAG_NOT_PROCESSED) !== 0,
    details: body.subarray(3 + msgLen),
  };
}

export function encodeEmpty(type: number, callId: number, body?: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + (body?.length ?? 0));
  header(buf, type, 0, callId);
  if (body) buf.set(body, HEADER_BYTES);
  return buf;
}

/** GOAWAY: the last call id the sender will process, a status code (0 = graceful) and a reason. */
export function encodeGoAway(lastCallId: number, code: number, reason: string): Buffer {
  const text = Buffer.from(reason.slice(0, 1024), 'utf8');
  const buf = Buffer.allocUnsafe(HEADER_BYTES + 5 + text.length);
  header(buf, FrameType.GOAWAY, 0, 0);
  buf.writeUInt32BE(lastCallId, HEADER_BYTES);
  buf[HEADER_BYTES + 4] = code;
  text.copy(buf, HEADER_BYTES + 5);
  return buf;
}

export function decodeGoAway(body: Buffer): { lastCallId: number; code: number; reason: string } {
  if (body.length < 5) throw new ProtocolError('GOAWAY frame too short');
  return { lastCallId: body.readUInt32BE(0), code: body[4]!, reason: body.toString('utf8', 5) };
}
