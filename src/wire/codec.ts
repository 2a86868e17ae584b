import { Packr } from 'msgpackr';

/** Turns values into payload bytes and back; chosen per client and agreed in the handshake. */
export interface Codec {
  /** ASCII name sent in the handshake, at most 32 bytes. */
  readonly name: string;
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
  /**
   * Optional, for text codecs: the payload as a string, which the frame encoder writes as
   * UTF-8 straight into the frame buffer (one allocation and copy fewer than `encode`).
   * Must produce the same bytes as `encode`.
   */
  encodeText?(value: unknown): string;
}

/** The payload for a frame: text when the codec offers it, else bytes. */
export function encodePayload(codec: Codec, value: unknown): Uint8Array | string {
  return codec.encodeText ? codec.encodeText(value) : codec.encode(value);
}

const EMPTY = new Uint8Array(0);

/** JSON over UTF-8; `undefined` travels as an empty payload. */
export function jsonCodec(): Codec {
  const text = (value: unknown): string => {
    if (value === undefined) return '';
    const json = JSON.stringify(value);
    // A function or symbol has no JSON form: refuse it rather than send an empty payload.
    if (json === undefined) throw new TypeError(`a ${typeof value} has no JSON representation`);
    return json;
  };
  return {
    name: 'json',
    encode: (value) => (value === undefined ? EMPTY : Buffer.from(text(value), 'utf8')),
    encodeText: text,
    decode: (bytes) => {
      if (bytes.length === 0) return undefined;
      const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
      return JSON.parse(buf.toString('utf8'));
    },
  };
}

/** MessagePack via msgpackr, without records so that any MessagePack peer can read it. */
export function msgpackCodec(): Codec {
  const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });
  return {
    name: 'msgpack',
    encode: (value) => (value === undefined ? EMPTY : packr.pack(value)),
    decode: (bytes) => (bytes.length === 0 ? undefined : packr.unpack(bytes)),
  };
}

export function defaultCodecs(): Codec[] {
  return [jsonCodec(), msgpackCodec()];
}

export function resolveCodec(codec: Codec | 'json' | 'msgpack' | undefined): Codec {
  if (codec === undefined || codec === 'json') return jsonCodec();
  if (codec === 'msgpack') return msgpackCodec();
  return codec;
}
