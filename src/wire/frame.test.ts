import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeError,
  decodeGoAway,
  decodeMetadata,
  decodeRequest,
  encodeEmpty,
  encodeError,
  encodeGoAway,
  encodeMetadata,
  encodeRequest,
  encodeResponse,
  FLAG_NOT_PROCESSED,
  FrameType,
  HEADER_BYTES,
  NO_TIMEOUT,
  ProtocolError,
} from './frame.js';
import { decodeOneFrame } from './test-server-frames.js';

const decodeOne = decodeOneFrame;

const callId = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (maxLength = 256) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));
/** Keys are 1..255 UTF-8 bytes; values at most 65535 bytes; the whole block at most 65535 bytes. */
const metadataKey = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
  .filter((k) => Buffer.byteLength(k) <= 255);
const metadata = fc.dictionary(metadataKey, fc.string({ unit: 'grapheme', maxLength: 60 }), { maxKeys: 8 });
const methodName = fc.string({ unit: 'grapheme', maxLength: 80 });
const timeout = fc.option(fc.integer({ min: 0, max: NO_TIMEOUT - 1 }), { nil: undefined });

describe('frame header', () => {
  it('writes length (excluding itself), type, flags and call id big-endian', () => {
    const buf = encodeResponse(0x01020304, Buffer.from([9, 8]));
    expect([...buf]).toEqual([0, 0, 0, 8, FrameType.RESPONSE, 0, 1, 2, 3, 4, 9, 8]);
  });
});

describe('REQUEST', () => {
  it('round-trips method, timeout, metadata and payload for any values', () => {
    fc.assert(
      fc.property(callId, methodName, timeout, metadata, bytes(), (id, method, timeoutMs, meta, payload) => {
        const frame = decodeOne(
          encodeRequest(id, Buffer.from(method), timeoutMs, encodeMetadata(meta), payload),
        );
        expect([frame.type, frame.flags, frame.callId]).toEqual([FrameType.REQUEST, 0, id]);
        const req = decodeRequest(frame.body);
        expect(req.method).toBe(method);
        expect(req.timeoutMs).toBe(timeoutMs);
        expect(req.metadata).toEqual(meta);
        expect(Buffer.compare(req.payload, payload)).toBe(0);
      }),
    );
  });

  it('sends the timeout as whole remaining milliseconds, rounded up and clamped', () => {
    const t = (ms: number | undefined) =>
      decodeRequest(decodeOne(encodeRequest(1, Buffer.from('a/b'), ms, undefined, Buffer.alloc(0))).body)
        .timeoutMs;
    expect(t(undefined)).toBeUndefined();
    expect(t(0.2)).toBe(1);
    expect(t(-5)).toBe(0);
    expect(t(1e12)).toBe(NO_TIMEOUT - 1);
  });

  it('rejects truncated bodies with ProtocolError, never reads out of bounds', () => {
    const full = encodeRequest(
      7,
      Buffer.from('svc/method'),
      100,
      encodeMetadata({ k: 'v', other: 'value' }),
      Buffer.alloc(0),
    );
    const body = full.subarray(HEADER_BYTES);
    for (let n = 0; n < body.length; n++) {
      expect(() => decodeRequest(body.subarray(0, n))).toThrow(ProtocolError);
    }
    expect(decodeRequest(body).metadata).toEqual({ k: 'v', other: 'value' });
  });

  it('decodes arbitrary bodies to a request or a ProtocolError', () => {
    fc.assert(
      fc.property(bytes(64), (body) => {
        try {
          decodeRequest(body);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
    );
  });
});

describe('metadata', () => {
  it('round-trips any map within the limits', () => {
    fc.assert(
      fc.property(metadata, (meta) => {
        const encoded = encodeMetadata(meta);
        expect(encoded === undefined ? {} : decodeMetadata(encoded)).toEqual(meta);
      }),
    );
  });

  it('keeps keys that collide with Object.prototype as plain entries', () => {
    const meta: Record<string, string> = {};
    for (const key of ['__proto__', 'constructor', 'toString']) {
      Object.defineProperty(meta, key, { value: `v-${key}`, enumerable: true, writable: true });
    }
    const decoded = decodeMetadata(encodeMetadata(meta)!);
    expect(Object.keys(decoded).sort()).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toBe('v-__proto__');
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('encodes an empty or missing map as nothing', () => {
    expect(encodeMetadata(undefined)).toBeUndefined();
    expect(encodeMetadata({})).toBeUndefined();
  });

  it('enforces key, value and total size limits', () => {
    expect(() => encodeMetadata({ '': 'x' })).toThrow(ProtocolError);
    expect(() => encodeMetadata({ ['k'.repeat(256)]: 'x' })).toThrow(ProtocolError);
    expect(encodeMetadata({ ['k'.repeat(255)]: 'x' })).toBeDefined();
    expect(() => encodeMetadata({ k: 'v'.repeat(65536) })).toThrow(ProtocolError);
    // Each entry fits on its own; together they are over the 16-bit block length.
    expect(() => encodeMetadata({ a: 'v'.repeat(40000), b: 'v'.repeat(40000) })).toThrow(ProtocolError);
    const big = encodeMetadata({ k: 'v'.repeat(65535 - 4) });
    expect(big?.length).toBe(65535);
  });

  it('rejects truncated or zero-length-key entries', () => {
    const ok = encodeMetadata({ key: 'value' })!;
    for (let n = 1; n < ok.length; n++) {
      expect(() => decodeMetadata(ok.subarray(0, n))).toThrow(ProtocolError);
    }
    expect(() => decodeMetadata(Buffer.from([0, 0, 0]))).toThrow(ProtocolError);
    fc.assert(
      fc.property(bytes(64), (b) => {
        try {
          decodeMetadata(b);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
    );
  });
});

describe('RESPONSE', () => {
  it('round-trips any payload', () => {
    fc.assert(
      fc.property(callId, bytes(), (id, payload) => {
        const frame = decodeOne(encodeResponse(id, payload));
        expect([frame.type, frame.flags, frame.callId]).toEqual([FrameType.RESPONSE, 0, id]);
        expect(Buffer.compare(frame.body, payload)).toBe(0);
      }),
    );
  });

  it('writes a text payload as UTF-8, byte for byte as the encoded bytes would be', () => {
    fc.assert(
      fc.property(callId, fc.string({ unit: 'binary' }), (id, text) => {
        expect(Buffer.compare(encodeResponse(id, text), encodeResponse(id, Buffer.from(text, 'utf8')))).toBe(
          0,
        );
      }),
    );
  });
});

describe('ERROR', () => {
  it('round-trips code, message, details and the not-processed flag', () => {
    fc.assert(
      fc.property(
        callId,
        fc.integer({ min: 0, max: 255 }),
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.boolean(),
        fc.option(bytes(), { nil: undefined }),
        (id, code, message, notProcessed, details) => {
          const frame = decodeOne(encodeError(id, code, message, notProcessed, details));
          expect([frame.type, frame.callId]).toEqual([FrameType.ERROR, id]);
          expect(frame.flags).toBe(notProcessed ? FLAG_NOT_PROCESSED : 0);
          const e = decodeError(frame);
          expect(e).toMatchObject({ code, message, notProcessed });
          expect(Buffer.compare(e.details, details ?? Buffer.alloc(0))).toBe(0);
        },
      ),
    );
  });

  it('truncates very long messages to stay within the 16-bit length', () => {
    const e = decodeError(decodeOne(encodeError(1, 13, '€'.repeat(100_000), false)));
    expect(e.message.length).toBe(4096);
    expect(e.message.endsWith('...')).toBe(true);
  });

  it('rejects bodies too short for their message length', () => {
    const frame = decodeOne(encodeError(1, 13, 'hello', true));
    for (let n = 0; n < frame.body.length; n++) {
      expect(() => decodeError({ ...frame, body: frame.body.subarray(0, n) })).toThrow(ProtocolError);
    }
  });
});

describe('CANCEL, PING, PONG', () => {
  it.each([
    ['CANCEL', FrameType.CANCEL],
    ['PING', FrameType.PING],
    ['PONG', FrameType.PONG],
  ])('%s round-trips call id and opaque body', (_, type) => {
    fc.assert(
      fc.property(callId, fc.option(bytes(16), { nil: undefined }), (id, body) => {
        const frame = decodeOne(encodeEmpty(type, id, body));
        expect([frame.type, frame.flags, frame.callId]).toEqual([type, 0, id]);
        expect(Buffer.compare(frame.body, body ?? Buffer.alloc(0))).toBe(0);
      }),
    );
  });
});

describe('GOAWAY', () => {
  it('round-trips last call id, code and reason on call id 0', () => {
    fc.assert(
      fc.property(
        callId,
        fc.integer({ min: 0, max: 255 }),
        fc.string({ unit: 'grapheme', maxLength: 100 }),
        (last, code, reason) => {
          const frame = decodeOne(encodeGoAway(last, code, reason));
          expect([frame.type, frame.flags, frame.callId]).toEqual([FrameType.GOAWAY, 0, 0]);
          expect(decodeGoAway(frame.body)).toEqual({ lastCallId: last, code, reason });
        },
      ),
    );
  });

  it('rejects a body shorter than its fixed part', () => {
    expect(() => decodeGoAway(Buffer.alloc(4))).toThrow(ProtocolError);
    expect(decodeGoAway(Buffer.from([0, 0, 0, 9, 0])).reason).toBe('');
  });
});
