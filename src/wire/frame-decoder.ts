import {
  DEFAULT_MAX_FRAME_BYTES,
  type Frame,
  FrameType,
  HEADER_BYTES,
  LENGTH_BYTES,
  ProtocolError,
} from './frame.js';

const KNOWN_TYPES = new Set<number>(Object.values(FrameType));

/**
 * Splits a byte stream into frames. The length prefix is checked against the limit
 * before anything is buffered, so an oversized frame costs 4 bytes, not 4 GiB.
 * Chunks are kept in a list and joined once per frame, so a large frame arriving
 * in many small chunks is copied once rather than once per chunk.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** Bytes held for an incomplete frame. */
  get pending(): number {
    return this.buffered;
  }

  /** Feeds bytes; calls onFrame for each complete frame. Throws ProtocolError on a bad stream. */
  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    let buf: Buffer;
    if (this.buffered === 0) buf = chunk;
    else {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      const need = this.frameLength();
      if (need === -1 || this.buffered < need) return;
      buf = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      this.buffered = 0;
    }
    let offset = 0;
    while (buf.length - offset >= LENGTH_BYTES) {
      const length = buf.readUInt32BE(offset);
      this.check(length, buf[offset + 4]);
      const end = offset + LENGTH_BYTES + length;
      if (end > buf.length) break;
      onFrame({
        type: buf[offset + 4]!,
        flags: buf[offset + 5]!,
        callId: buf.readUInt32BE(offset + 6),
        body: buf.subarray(offset + HEADER_BYTES, end),
      });
      offset = end;
    }
    if (offset < buf.length) {
      const rest = buf.subarray(offset);
      this.chunks = [rest];
      this.buffered = rest.length;
    }
  }

  private frameLength(): number {
    if (this.buffered < LENGTH_BYTES) return -1;
    let head = this.chunks[0]!;
    if (head.length < LENGTH_BYTES) {
      // Join once and keep the result: joining on every push would copy a trickled frame quadratically.
      head = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [head];
    }
    const length = head.readUInt32BE(0);
    this.check(length, head.length > 4 ? head[4] : undefined);
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
