import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { RpcError } from '../core/errors.js';
import { splitAddress } from '../registry/instance.js';
import { type ClientTlsOptions, clientTlsConnectOptions } from '../security/tls-options.js';
import type { Codec } from '../wire/codec.js';
import {
  decodeServerHello,
  encodeClientHello,
  HandshakeStatus,
  PROTOCOL_VERSION,
  SERVER_HELLO_BYTES,
} from '../wire/handshake.js';

export interface DialOptions {
  address: string;
  codec: Codec;
  /** Dial with TLS (mTLS with cert and key); the server certificate must match the host or `servername`. */
  tls?: ClientTlsOptions | undefined;
  connectTimeoutMs?: number;
}

export interface Dialled {
  readonly socket: Socket;
  /** The largest frame the server accepts, from its hello. */
  readonly serverMaxFrameBytes: number;
  /** Calls the server runs at once on this connection, from its hello; it refuses more. */
  readonly serverMaxConcurrentCalls: number;
  /** Bytes the server sent after its hello in the same read: the start of the frame stream. */
  readonly rest: Buffer;
}

/**
 * Opens a socket (TCP or TLS) and completes the Tensile handshake. Rejects with UNAVAILABLE,
 * never processed, on any failure. The socket's own listeners are removed before it resolves,
 * except a no-op error listener, so the caller attaches its own in the same tick.
 */
export function dial(options: DialOptions): Promise<Dialled> {
  const { host, port } = splitAddress(options.address);
  return new Promise((resolve, reject) => {
    const bare = host.replace(/^\[|\]$/g, '');
    const socket = options.tls
      ? tlsConnect({ host: bare, port, ...clientTlsConnectOptions(options.tls, bare) }).setNoDelay(true)
      : netConnect({ host: bare, port, noDelay: true });
    let received = Buffer.alloc(0);
    const fail = (message: string, cause?: unknown) => {
      cleanup();
      socket.destroy();
      reject(
        new RpcError('UNAVAILABLE', `cannot connect to ${options.address}: ${message}`, {
          mayHaveProcessed: false,
          cause,
        }),
      );
    };
    const timer = setTimeout(() => fail('connect timed out'), options.connectTimeoutMs ?? 5_000);
    const onError = (err: Error) => fail((err as NodeJS.ErrnoException).code ?? err.message, err);
    const onClose = () => fail('closed during handshake');
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      let hello: ReturnType<typeof decodeServerHello>;
      try {
        hello = decodeServerHello(received);
      } catch (err) {
        return fail((err as Error).message);
      }
      if (!hello) return;
      if (hello.status !== HandshakeStatus.OK) {
        const why =
          hello.status === HandshakeStatus.BAD_CODEC
            ? `codec ${options.codec.name} not supported`
            : `protocol version ${PROTOCOL_VERSION} not supported`;
        return fail(`server refused handshake: ${why}`);
      }
      cleanup();
      socket.on('error', () => {});
      resolve({
        socket,
        serverMaxFrameBytes: hello.maxFrameBytes,
        serverMaxConcurrentCalls: hello.maxConcurrentCalls,
        rest: received.subarray(SERVER_HELLO_BYTES),
      });
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('data', onData);
    };
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.on('data', onData);
    // Over TLS, the hello goes out once the server's certificate has been verified.
    socket.once(options.tls ? 'secureConnect' : 'connect', () =>
      socket.write(encodeClientHello({ version: PROTOCOL_VERSION, codec: options.codec.name })),
    );
  });
}
