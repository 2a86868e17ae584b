import {
  DEFAULT_MAX_FRAME_BYTES,
  type Frame,
  FrameType,
  HEADER_BYTES,
  LENGTH_BYTES,
  ProtocolError,
} from './frame.js';

const KNOWN_TYPES = new Set<number>(Object.values(FrameType));
const EMPTY = Buffer.alloc(0);
/** First allocation for a partial frame: most are small, and tiny reads should not regrow it at once. */
const MIN_STORE = 256;
const BIG_CHUNK = 16 * 1024;

/**
 * Splits a byte stream into frames. The length prefix is checked against the limit
 * before anything is buffered, so an oversized frame costs 4 bytes, not 4 GiB.
 * An incomplete frame is gathered in one buffer that doubles as bytes arrive (never past
 * the frame's length), so a frame trickled in tiny chunks costs at most twice its bytes in
 * memory and is copied a logarithmic number of times, not once per chunk.
 */
export class FrameDecoder {
  private store: Buffer = EMPTY;
  private buffered = 0;

  constructor(readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** Bytes held for an incomplete frame. */
  get pending(): number {
    return this.buffered;
  }

  /** Memory the incomplete frame keeps alive (a small buffer counts its whole pool slab). */
  get retainedBytes(): number {
    return this.buffered === 0 ? 0 : this.store.buffer.byteLength;
  }

  /** Feeds bytes; calls onFrame for each complete frame. Throws ProtocolError on a bad stream. */
  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    let offset = 0;
    if (this.buffered > 0) {
      // Complete the frame being gathered with only the bytes it lacks; the rest is read in place.
      if (this.buffered < LENGTH_BYTES) {
        offset = Math.min(LENGTH_BYTES - this.buffered, chunk.length);
        this.append(chunk.subarray(0, offset));
        if (this.buffered < LENGTH_BYTES) return;
      }
      const need = this.frameLength();
      const take = Math.min(need - this.buffered, chunk.length - offset);
      this.append(chunk.subarray(offset, offset + take));
      offset += take;
      if (this.buffered < need) return;
      const whole = this.store;
      this.store = EMPTY;
      this.buffered = 0;
      this.check(need - LENGTH_BYTES, whole[4]);
      this.emit(whole, 0, need, onFrame);
    }
    while (chunk.length - offset >= LENGTH_BYTES) {
      const end = offset + LENGTH_BYTES + chunk.readUInt32BE(offset);
      this.check(end - offset - LENGTH_BYTES, chunk[offset + 4]);
      if (end > chunk.length) break;
      this.emit(chunk, offset, end, onFrame);
      offset = end;
    }
    // Copied, not a view: a view would pin the whole chunk it came from.
    if (offset < chunk.length) this.append(chunk.subarray(offset));
  }

  private emit(buf: Buffer, offset: number, end: number, onFrame: (frame: Frame) => void): void {
    onFrame({
      type: buf[offset + 4]!,
      flags: buf[offset + 5]!,
      callId: buf.readUInt32BE(offset + 6),
      body: buf.subarray(offset + HEADER_BYTES, end),
    });
  }

  private append(bytes: Buffer): void {
    const required = this.buffered + bytes.length;
    if (required > this.store.length) {
      let capacity = Math.max(required, 2 * this.store.length, MIN_STORE);
      const need = this.frameLength();
      // Big chunks prove a fast sender: size for the whole frame at once rather than copying
      // it through doubling buffers. Only trickles, the costly case for memory, double.
      if (need >= required) capacity = bytes.length >= BIG_CHUNK ? need : Math.min(capacity, need);
      const grown = Buffer.allocUnsafe(capacity);
      this.store.copy(grown, 0, 0, this.buffered);
      this.store = grown;
    }
    bytes.copy(this.store, this.buffered);
    this.buffered = required;
  }

  /** The whole length of the frame being gathered, or -1 before its length prefix is in. */
  private frameLength(): number {
    if (this.buffered < LENGTH_BYTES) return -1;
    const length = this.store.readUInt32BE(0);
    this.check(length, this.buffered > 4 ? this.store[4] : undefined);
    return LENGTH_BYTES + length;
  }

  private check(length: number, type: number | undefined): void {
    if (length + LENGTH_BYTES > this.maxFrameBytes) {
      throw new ProtocolError(
        `frame of ${length + LENGTH_BYTES} bytes exceeds the limit of ${this.maxFrameBytes}`,
        'RESOURCE_EXHAUSTED',
      );
    }
    if (length < HEADER_BYTES - LENGTH_BYTES)
      throw new ProtocolError(`frame length ${length} is shorter than a header`);
    if (type !== undefined && !KNOWN_TYPES.has(type)) {
      throw new ProtocolError(`unknown frame type 0x${type.toString(16).padStart(2, '0')}`);
    }
  }
}
