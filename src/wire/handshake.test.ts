import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './frame.js';
import {
  decodeClientHello,
  decodeServerHello,
  encodeClientHello,
  encodeServerHello,
  HandshakeStatus,
  MAGIC,
  PROTOCOL_VERSION,
  SERVER_HELLO_BYTES,
} from './handshake.js';

const codecName = fc.stringMatching(/^[a-z0-9-]{1,32}$/);

describe('client hello', () => {
  it('is magic, version, codec length and ASCII codec name', () => {
    expect([...encodeClientHello({ version: 1, codec: 'json' })]).toEqual([
      ...Buffer.from('TNSL'),
      1,
      4,
      ...Buffer.from('json'),
    ]);
  });

  it('round-trips and reports the bytes used, leaving what follows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        codecName,
        fc.uint8Array({ maxLength: 20 }),
        (v, c, tail) => {
          const hello = encodeClientHello({ version: v, codec: c });
          const parsed = decodeClientHello(Buffer.concat([hello, tail]));
          expect(parsed).toEqual({ hello: { version: v, codec: c }, used: hello.length });
        },
      ),
    );
  });

  it('waits for more bytes on every strict prefix', () => {
    const hello = encodeClientHello({ version: PROTOCOL_VERSION, codec: 'msgpack' });
    for (let n = 0; n < hello.length; n++) expect(decodeClientHello(hello.subarray(0, n))).toBeUndefined();
  });

  it('rejects bad magic as soon as the first wrong byte arrives', () => {
    expect(() => decodeClientHello(Buffer.from('G'))).toThrow(ProtocolError);
    expect(() => decodeClientHello(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(/not a Tensile peer/);
    expect(() => decodeClientHello(Buffer.from('TNSX'))).toThrow(ProtocolError);
  });

  it('rejects codec name lengths of 0 or over 32', () => {
    expect(() => decodeClientHello(Buffer.concat([MAGIC, Buffer.from([1, 0])]))).toThrow(
      /codec name length 0/,
    );
    expect(() => decodeClientHello(Buffer.concat([MAGIC, Buffer.from([1, 33])]))).toThrow(/length 33/);
    expect(() => encodeClientHello({ version: 1, codec: '' })).toThrow(ProtocolError);
    expect(() => encodeClientHello({ version: 1, codec: 'x'.repeat(33) })).toThrow(ProtocolError);
  });

  it('decodes random bytes to a hello, undefined or a ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), fc.boolean(), (bytes, withMagic) => {
        const buf = withMagic ? Buffer.concat([MAGIC, bytes]) : Buffer.from(bytes);
        try {
          const r = decodeClientHello(buf);
          if (r) expect(r.used).toBeLessThanOrEqual(buf.length);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
    );
  });
});

describe('server hello', () => {
  it('round-trips status and limits in 14 bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom(...Object.values(HandshakeStatus)),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (version, status, maxFrameBytes, maxConcurrentCalls) => {
          const hello = { version, status, maxFrameBytes, maxConcurrentCalls };
          const buf = encodeServerHello(hello);
          expect(buf.length).toBe(SERVER_HELLO_BYTES);
          expect(buf.subarray(0, 4).equals(MAGIC)).toBe(true);
          expect(decodeServerHello(buf)).toEqual(hello);
          for (let n = 0; n < buf.length; n++) expect(decodeServerHello(buf.subarray(0, n))).toBeUndefined();
        },
      ),
    );
  });

  it('rejects a reply that is not from a Tensile server', () => {
    expect(() => decodeServerHello(Buffer.from('HTTP/1.1 400 Bad Request\r\n'))).toThrow(ProtocolError);
  });
});
