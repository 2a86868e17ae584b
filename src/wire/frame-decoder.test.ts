import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  encodeEmpty,
  encodeError,
  encodeGoAway,
  encodeMetadata,
  encodeRequest,
  encodeResponse,
  type Frame,
  FrameType,
  ProtocolError,
} from './frame.js';
import { FrameDecoder } from './frame-decoder.js';

afterEach(() => {
  vi.restoreAllMocks();
});

interface Seen {
  type: number;
  flags: number;
  callId: number;
  body: string;
}

function collect(decoder: FrameDecoder, chunks: Buffer[]): Seen[] {
  const out: Seen[] = [];
  const on = (f: Frame) =>
    out.push({ type: f.type, flags: f.flags, callId: f.callId, body: f.body.toString('hex') });
  for (const c of chunks) decoder.push(c, on);
  return out;
}

/** Node's pool for small Buffer.allocUnsafe calls: a tiny buffer may keep this much alive. */
const POOL_SLAB = Buffer.poolSize;

const id = fc.integer({ min: 0, max: 0xffffffff });
const payload = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
const anyFrame: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .tuple(
      id,
      fc.string({ maxLength: 30 }),
      payload,
      fc.dictionary(fc.constantFrom('a', 'bb', 'x-id'), fc.string()),
    )
    .map(([i, m, p, meta]) => encodeRequest(i, Buffer.from(m), 50, encodeMetadata(meta), p)),
  fc.tuple(id, payload).map(([i, p]) => encodeResponse(i, p)),
  fc.tuple(id, fc.string(), fc.boolean(), payload).map(([i, m, n, p]) => encodeError(i, 3, m, n, p)),
  id.map((i) => encodeEmpty(FrameType.CANCEL, i)),
  fc.tuple(id, payload).map(([i, p]) => encodeEmpty(FrameType.PING, i, p)),
  fc.tuple(id, payload).map(([i, p]) => encodeEmpty(FrameType.PONG, i, p)),
  fc.tuple(id, fc.string()).map(([i, r]) => encodeGoAway(i, 0, r)),
);

/** Cuts `buf` at the given (sorted, deduplicated) offsets. */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, buf.length]) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe('FrameDecoder', () => {
  it('yields the same frames however the stream is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(anyFrame, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (frames, cuts) => {
          const stream = Buffer.concat(frames);
          const whole = collect(new FrameDecoder(), [stream]);
          expect(whole).toHaveLength(frames.length);
          const decoder = new FrameDecoder();
          expect(collect(decoder, split(stream, cuts))).toEqual(whole);
          expect(decoder.pending).toBe(0);
        },
      ),
    );
  });

  it('yields the same frames fed one byte at a time', () => {
    const stream = Buffer.concat([
      encodeResponse(1, Buffer.from('abc')),
      encodeEmpty(FrameType.PING, 2, Buffer.alloc(8)),
    ]);
    const bytes = [...stream].map((b) => Buffer.from([b]));
    expect(collect(new FrameDecoder(), bytes)).toEqual(collect(new FrameDecoder(), [stream]));
  });

  it('throws nothing but ProtocolError on random bytes, in any chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }),
        fc.integer({ min: 10, max: 512 }),
        (chunks, limit) => {
          const decoder = new FrameDecoder(limit);
          try {
            for (const c of chunks) decoder.push(Buffer.from(c), () => {});
          } catch (err) {
            expect(err).toBeInstanceOf(ProtocolError);
            return;
          }
          // Without an error, what is held is part of one frame, which is under the limit.
          expect(decoder.pending).toBeLessThan(limit);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('rejects an over-limit length prefix before buffering the body', () => {
    const decoder = new FrameDecoder(1024);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(0xfffffff0);
    expect(() => decoder.push(prefix, () => {})).toThrow(/exceeds the limit of 1024/);
    expect(decoder.pending).toBe(0);
  });

  it('rejects an over-limit prefix that arrives a byte at a time, holding at most 3 bytes', () => {
    const decoder = new FrameDecoder(1024);
    const prefix = Buffer.from([0x7f, 0xff, 0xff, 0xff]);
    for (let i = 0; i < 3; i++) decoder.push(prefix.subarray(i, i + 1), () => {});
    expect(decoder.pending).toBe(3);
    expect(() => decoder.push(prefix.subarray(3), () => {})).toThrow(ProtocolError);
  });

  it('rejects an over-limit frame that follows a valid one in the same chunk', () => {
    const frames: number[] = [];
    const big = Buffer.alloc(10);
    big.writeUInt32BE(2000);
    const stream = Buffer.concat([encodeResponse(1, Buffer.from('ok')), big]);
    expect(() => new FrameDecoder(1024).push(stream, (f) => frames.push(f.callId))).toThrow(/exceeds/);
    expect(frames).toEqual([1]);
  });

  it('accepts a frame of exactly the limit and rejects one byte more', () => {
    const exact = encodeResponse(1, Buffer.alloc(90));
    expect(collect(new FrameDecoder(exact.length), [exact])).toHaveLength(1);
    expect(() => collect(new FrameDecoder(exact.length - 1), [exact])).toThrow(ProtocolError);
  });

  it('rejects lengths shorter than a header and unknown frame types', () => {
    expect(() => collect(new FrameDecoder(), [Buffer.from([0, 0, 0, 5, 1, 0, 0, 0, 0])])).toThrow(
      /shorter than a header/,
    );
    expect(() => collect(new FrameDecoder(), [Buffer.from([0, 0, 0, 6, 0x42])])).toThrow(
      /unknown frame type 0x42/,
    );
    for (const type of [0x00, 0x08, 0xff]) {
      const frame = encodeResponse(1, Buffer.alloc(0));
      frame[4] = type;
      expect(() => collect(new FrameDecoder(), split(frame, [2]))).toThrow(ProtocolError);
    }
  });

  it('keeps pending at or below one frame while a large frame trickles in', () => {
    const limit = 64 * 1024;
    const frame = encodeResponse(9, Buffer.alloc(limit - 10, 7));
    const decoder = new FrameDecoder(limit);
    let max = 0;
    let frames = 0;
    for (let o = 0; o < frame.length; o += 1000) {
      decoder.push(frame.subarray(o, o + 1000), () => frames++);
      max = Math.max(max, decoder.pending);
    }
    expect(frames).toBe(1);
    expect(max).toBeLessThan(limit);
    expect(decoder.pending).toBe(0);
  });

  it('gathers a frame trickled a byte at a time in a few doubling buffers, not one per chunk', () => {
    const frame = encodeResponse(9, Buffer.alloc(100_000, 1));
    const alloc = vi.spyOn(Buffer, 'allocUnsafe');
    const decoder = new FrameDecoder();
    const seen: Frame[] = [];
    let miscounted = 0;
    let overheld = 0;
    for (let o = 0; o < frame.length; o++) {
      decoder.push(frame.subarray(o, o + 1), (f) => seen.push({ ...f, body: Buffer.from(f.body) }));
      if (o < frame.length - 1 && decoder.pending !== o + 1) miscounted++;
      if (decoder.retainedBytes > Math.max(POOL_SLAB, 2 * decoder.pending)) overheld++;
    }
    expect(miscounted).toBe(0);
    expect(overheld).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.body.equals(frame.subarray(10))).toBe(true);
    const sizes = alloc.mock.calls.map(([n]) => n);
    // Doubling from 256 bytes: about log2(100 kB / 256) ≈ 9 buffers, never one past the frame.
    expect(sizes.length).toBeLessThanOrEqual(12);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(frame.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThan(2.5 * frame.length);
  });

  it('gathers a large frame sent in big chunks with one frame-sized buffer, not doubling copies', () => {
    const frame = encodeResponse(8, Buffer.alloc(1 << 20, 2));
    const chunks: Buffer[] = [];
    for (let o = 0; o < frame.length; o += 64 * 1024) chunks.push(frame.subarray(o, o + 64 * 1024));
    const alloc = vi.spyOn(Buffer, 'allocUnsafe');
    const got = collect(new FrameDecoder(), chunks);
    expect(got.map((f) => f.callId)).toEqual([8]);
    const sizes = alloc.mock.calls.map(([n]) => n);
    // The first chunk, before the length is known, then the whole frame once.
    expect(sizes).toHaveLength(2);
    expect(sizes[1]).toBe(frame.length);
  });

  it('completes a gathered frame from the next chunk and reads the frames after it in place', () => {
    const a = encodeResponse(1, Buffer.alloc(1000, 1));
    const rest = Buffer.concat([
      encodeResponse(2, Buffer.from('x')),
      encodeResponse(3, Buffer.alloc(50_000, 3)),
    ]);
    const chunks = [a.subarray(0, 600), Buffer.concat([a.subarray(600), rest])];
    const alloc = vi.spyOn(Buffer, 'allocUnsafe');
    const got = collect(new FrameDecoder(), chunks);
    expect(got.map((f) => f.callId)).toEqual([1, 2, 3]);
    // Only the first frame was gathered: nothing the size of the 50 kB frame was allocated.
    expect(alloc.mock.calls.every(([n]) => n <= a.length)).toBe(true);
  });

  it('copies the tail of a chunk rather than keeping the whole chunk alive', () => {
    const big = Buffer.alloc(1 << 20);
    const frame = encodeResponse(4, Buffer.from('done'));
    frame.copy(big);
    encodeResponse(5, Buffer.alloc(100)).copy(big, frame.length, 0, 3);
    const decoder = new FrameDecoder();
    expect(collect(decoder, [big.subarray(0, frame.length + 3)]).map((f) => f.callId)).toEqual([4]);
    expect(decoder.pending).toBe(3);
    expect(decoder.retainedBytes).toBeGreaterThan(0);
    expect(decoder.retainedBytes).toBeLessThanOrEqual(POOL_SLAB);
  });
});
