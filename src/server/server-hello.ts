import type { Codec } from '../wire/codec.js';
import { ProtocolError } from '../wire/frame.js';
import {
  decodeClientHello,
  encodeServerHello,
  HandshakeStatus,
  PROTOCOL_VERSION,
} from '../wire/handshake.js';

const MAX_HELLO_BYTES = 64;

/** What the server makes of the bytes a new connection has sent so far. */
export type HelloOutcome =
  /** Incomplete: keep `buffered` and wait for more. */
  | { readonly kind: 'partial'; readonly buffered: Buffer }
  /** Not a Tensile peer (port scanner, stray HTTP client): close without a reply. */
  | { readonly kind: 'foreign' }
  /** Send `reply`; with a codec the connection is open and `rest` starts the first frame, else close. */
  | {
      readonly kind: 'answered';
      readonly reply: Buffer;
      readonly codec: Codec | undefined;
      readonly rest: Buffer;
    };

export interface HelloOptions {
  codecs: ReadonlyMap<string, Codec>;
  maxFrameBytes: number;
  maxConcurrentCalls: number;
}

/** The server's side of the handshake (protocol.md section 2). Throws ProtocolError on a hello too long. */
export function readClientHello(buf: Buffer, options: HelloOptions): HelloOutcome {
  let parsed: ReturnType<typeof decodeClientHello>;
  try {
    parsed = decodeClientHello(buf);
  } catch {
    return { kind: 'foreign' };
  }
  if (!parsed) {
    if (buf.length > MAX_HELLO_BYTES) throw new ProtocolError('handshake too long');
    return { kind: 'partial', buffered: buf };
  }
  const { hello, used } = parsed;
  const codec = options.codecs.get(hello.codec);
  // A bad version wins over a bad codec.
  const status =
    hello.version !== PROTOCOL_VERSION
      ? HandshakeStatus.BAD_VERSION
      : codec === undefined
        ? HandshakeStatus.BAD_CODEC
        : HandshakeStatus.OK;
  const reply = encodeServerHello({
    version: PROTOCOL_VERSION,
    status,
    maxFrameBytes: options.maxFrameBytes,
    maxConcurrentCalls: options.maxConcurrentCalls,
  });
  return {
    kind: 'answered',
    reply,
    codec: status === HandshakeStatus.OK ? codec : undefined,
    rest: buf.subarray(used),
  };
}
