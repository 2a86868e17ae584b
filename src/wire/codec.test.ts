import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Codec, defaultCodecs, encodePayload, jsonCodec, msgpackCodec, resolveCodec } from './codec.js';

/** JSON has no -0; both codecs are compared on JSON's own normal form. */
const normal = (v: unknown) => JSON.parse(JSON.stringify(v));

/** Any JSON value without a "__proto__" key (msgpackr renames that key; tested below). */
const jsonValue = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__":'));

describe.each([
  ['json', jsonCodec()],
  ['msgpack', msgpackCodec()],
] as [string, Codec][])('%s codec', (name, codec) => {
  it('round-trips any JSON value', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        expect(normal(codec.decode(codec.encode(value)))).toEqual(normal(value));
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips a value encoded into a slice of a larger buffer', () => {
    const bytes = codec.encode({ a: [1, 'ü', null] });
    const framed = Buffer.concat([Buffer.from([1, 2, 3]), bytes, Buffer.from([9])]);
    expect(codec.decode(framed.subarray(3, 3 + bytes.length))).toEqual({ a: [1, 'ü', null] });
  });

  it('encodes the same bytes through encodePayload (text written into the frame) as through encode', () => {
    fc.assert(
      fc.property(fc.oneof(jsonValue, fc.constant(undefined)), (value) => {
        const payload = encodePayload(codec, value);
        const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
        expect(Buffer.compare(bytes, codec.encode(value))).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('sends undefined as an empty payload', () => {
    expect(codec.encode(undefined).length).toBe(0);
    expect(codec.decode(new Uint8Array(0))).toBeUndefined();
  });

  it('has a handshake name of at most 32 ASCII bytes', () => {
    expect(codec.name).toBe(name);
  });

  it('throws (rather than hangs or crashes) on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        try {
          codec.decode(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
        }
      }),
    );
  });
});

describe('prototype pollution guard', () => {
  const input = '{"__proto__":{"polluted":true},"a":1}';

  it('JSON keeps a "__proto__" key as an own property and never touches the prototype', () => {
    const decoded = jsonCodec().decode(Buffer.from(input)) as Record<string, unknown>;
    expect(Object.hasOwn(decoded, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('msgpack renames a "__proto__" key to "__proto_" (msgpackr\'s guard) and never touches the prototype', () => {
    const codec = msgpackCodec();
    const decoded = codec.decode(codec.encode(JSON.parse(input))) as Record<string, unknown>;
    expect(decoded).toEqual({ __proto_: { polluted: true }, a: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('codec selection', () => {
  it('defaults to JSON and resolves names', () => {
    expect(resolveCodec(undefined).name).toBe('json');
    expect(resolveCodec('msgpack').name).toBe('msgpack');
    const custom = { ...jsonCodec(), name: 'custom' };
    expect(resolveCodec(custom)).toBe(custom);
    expect(defaultCodecs().map((c) => c.name)).toEqual(['json', 'msgpack']);
  });

  it('msgpack writes plain maps any MessagePack reader understands (no record extension)', () => {
    const bytes = Buffer.from(msgpackCodec().encode({ a: 1 }));
    // A map header (fixmap or map16) of one entry, then fixstr "a" and positive fixint 1; no ext types.
    const head = bytes[0] === 0x81 ? 1 : bytes[0] === 0xde && bytes.readUInt16BE(1) === 1 ? 3 : -1;
    expect(head).toBeGreaterThan(0);
    expect([...bytes.subarray(head)]).toEqual([0xa1, 0x61, 0x01]);
  });
});
