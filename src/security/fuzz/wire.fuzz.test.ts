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
  type Frame,
  FrameType,
  ProtocolError,
} from '../../wire/frame.js';
import { FrameDecoder } from '../../wire/frame-decoder.js';
import {
  decodeClientHello,
  decodeServerHello,
  encodeClientHello,
  encodeServerHello,
} from '../../wire/handshake.js';
import { fuzzRuns, liveHeapBytes } from './test-heap.js';

/**
 * Fuzzing of everything that parses bytes from the network: the frame decoder, the frame
 * bodies and both handshakes. 95,000 inputs by default; the only error allowed is ProtocolError.
 */
const MAX_FRAME = 4096;
let inputs = 0;

/** Decodes a frame body the way the server or client would for its type. */
function decodeBody(f: Frame): void {
  switch (f.type) {
    case FrameType.REQUEST:
      decodeRequest(f.body);
      return;
    case FrameType.ERROR:
      decodeError(f);
      return;
    case FrameType.GOAWAY:
      decodeGoAway(f.body);
      return;
  }
}

/** Plain checks in the hot loop: vitest's expect costs more than the parsing under test. */
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`property violated: ${what}`);
}

function onlyProtocolErrors(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    check(err.message.length > 0, 'ProtocolError has a message');
  }
}

/** Feeds `bytes` split at `cuts` into a fresh decoder; checks what a connection relies on. */
function feed(bytes: Buffer, cuts: number[]): void {
  const decoder = new FrameDecoder(MAX_FRAME);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  let emitted = 0;
  onlyProtocolErrors(() => {
    for (const p of [...points, bytes.length]) {
      decoder.push(bytes.subarray(prev, p), (f) => {
        emitted += f.body.length + 10;
        check(f.body.length + 10 <= MAX_FRAME, 'frame within the limit');
        onlyProtocolErrors(() => decodeBody(f));
      });
      prev = p;
      // Never holds more than one frame's worth, whatever arrives.
      check(decoder.pending <= MAX_FRAME, 'pending bytes within the limit');
    }
  });
  check(emitted <= bytes.length, 'frames come from the input');
}

const id = fc.integer({ min: 0, max: 0xffffffff });
const small = fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a));
const validFrame: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .tuple(
      id,
      fc.string({ maxLength: 40 }),
      fc.option(fc.nat()),
      fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 20 }), { maxKeys: 4 }),
      small,
    )
    .map(([i, m, t, md, p]) => encodeRequest(i, Buffer.from(m), t ?? undefined, encodeMetadata(md), p)),
  fc.tuple(id, small).map(([i, p]) => encodeResponse(i, p)),
  fc
    .tuple(id, fc.nat(255), fc.string({ maxLength: 60 }), fc.boolean(), small)
    .map(([i, c, m, n, d]) => encodeError(i, c, m, n, d)),
  fc
    .tuple(id, fc.constantFrom(FrameType.PING, FrameType.PONG, FrameType.CANCEL), small)
    .map(([i, t, b]) => encodeEmpty(t, i, b)),
  fc.tuple(id, fc.nat(255), fc.string({ maxLength: 60 })).map(([i, c, r]) => encodeGoAway(i, c, r)),
);
/** Valid frames with some bytes overwritten: reaches deep parser states random bytes rarely do. */
const mutated = fc
  .tuple(
    fc.array(validFrame, { minLength: 1, maxLength: 4 }),
    fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 6 }),
  )
  .map(([frames, edits]) => {
    const buf = Buffer.concat(frames);
    for (const [at, byte] of edits) buf[at % buf.length] = byte;
    return buf;
  });
const cuts = fc.array(fc.nat(), { maxLength: 12 });

describe('fuzzing the wire parsers', { timeout: 60_000 }, () => {
  const heapBefore = liveHeapBytes();

  it('frame decoder: random byte streams in random chunks', () => {
    const runs = fuzzRuns(35_000);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), cuts, (bytes, c) => {
        inputs++;
        feed(Buffer.from(bytes), c);
      }),
      { numRuns: runs },
    );
  });

  it('frame decoder and frame bodies: mutated valid frames', () => {
    fc.assert(
      fc.property(mutated, cuts, (bytes, c) => {
        inputs++;
        feed(bytes, c);
      }),
      { numRuns: fuzzRuns(25_000) },
    );
  });

  it('metadata: random and mutated blocks', () => {
    const block = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      fc
        .tuple(
          fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.string({ maxLength: 30 })),
          fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }),
        )
        .map(([md, edits]) => {
          const buf = encodeMetadata(md) ?? Buffer.alloc(0);
          for (const [at, byte] of edits) if (buf.length) buf[at % buf.length] = byte;
          return buf;
        }),
    );
    fc.assert(
      fc.property(block, (buf) => {
        inputs++;
        onlyProtocolErrors(() => {
          const md = decodeMetadata(buf);
          // Decoded metadata is a plain record of strings; no prototype tricks.
          check(Object.getPrototypeOf(md) === Object.prototype, 'plain object');
          for (const v of Object.values(md)) check(typeof v === 'string', 'string values');
        });
      }),
      { numRuns: fuzzRuns(15_000) },
    );
  });

  it('handshakes: random, truncated and mutated hellos', () => {
    const hello = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
      fc
        .tuple(
          fc.nat(255),
          fc.stringMatching(/^[a-z]{1,32}$/),
          fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 3 }),
          fc.nat(40),
        )
        .map(([v, codec, edits, cut]) => {
          const buf = encodeClientHello({ version: v, codec });
          for (const [at, byte] of edits) buf[at % buf.length] = byte;
          return buf.subarray(0, cut);
        }),
    );
    fc.assert(
      fc.property(hello, (buf) => {
        inputs++;
        onlyProtocolErrors(() => {
          const parsed = decodeClientHello(buf);
          if (parsed) {
            check(parsed.used <= buf.length, 'hello within input');
            check(parsed.hello.codec.length > 0 && parsed.hello.codec.length <= 32, 'codec name 1..32');
          }
        });
        onlyProtocolErrors(() => decodeServerHello(buf));
      }),
      { numRuns: fuzzRuns(20_000) },
    );
    const serverHello = encodeServerHello({ version: 1, status: 0, maxFrameBytes: 1, maxConcurrentCalls: 1 });
    expect(decodeServerHello(serverHello)).toMatchObject({ version: 1 });
  });

  it('ran at least 95,000 inputs with bounded heap growth', () => {
    expect(inputs).toBeGreaterThanOrEqual(fuzzRuns(95_000));
    const growth = liveHeapBytes() - heapBefore;
    expect(growth).toBeLessThan(32 * 1024 * 1024);
  });
});
