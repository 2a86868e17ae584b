import { Packr } from 'msgpackr';

/** Turns values into payload bytes and back; chosen per client and agreed in the handshake. */
export interface Codec {
  /** ASCII name sent in the handshake, at most 32 bytes. */
  readonly name: string;
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

const EMPTY = new Uint8Array(0);

/** JSON over UTF-8; `undefined` travels as an empty payload. */
export function jsonCodec(): Codec {
  return {
    name: 'json',
    encode: (value) => (value === undefined ? EMPTY : Buffer.from(JSON.stringify(value), 'utf8')),
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
