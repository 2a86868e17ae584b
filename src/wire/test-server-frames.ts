import type { Socket } from 'node:net';
import type { Frame } from './frame.js';
import { FrameDecoder } from './frame-decoder.js';
import { SERVER_HELLO_BYTES } from './handshake.js';

/**
 * Test helper for raw peers: skips the server's hello on `socket`, then hands every frame
 * to `onFrame` with its body copied (the decoder's view is only valid during the callback).
 */
export function onServerFrames(
  socket: Socket,
  onFrame: (frame: Frame) => void,
): { readonly handshaken: boolean } {
  const decoder = new FrameDecoder(Number.MAX_SAFE_INTEGER);
  let hello: Buffer | undefined = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    if (hello) {
      hello = Buffer.concat([hello, chunk]);
      if (hello.length < SERVER_HELLO_BYTES) return;
      chunk = hello.subarray(SERVER_HELLO_BYTES);
      hello = undefined;
    }
    decoder.push(chunk, (f) => onFrame({ ...f, body: Buffer.from(f.body) }));
  });
  return {
    get handshaken() {
      return hello === undefined;
    },
  };
}

/** Test helper: decodes exactly one frame from an encoded buffer, its body copied. */
export function decodeOneFrame(bytes: Buffer): Frame {
  const frames: Frame[] = [];
  new FrameDecoder(Number.MAX_SAFE_INTEGER).push(bytes, (f) =>
    frames.push({ ...f, body: Buffer.from(f.body) }),
  );
  if (frames.length !== 1) throw new Error(`expected one frame, decoded ${frames.length}`);
  return frames[0]!;
}
