import type { Socket } from 'node:net';

interface Entry {
  readonly raw: Socket;
  /** When the TCP connection was accepted (performance.now()). */
  readonly since: number;
  /** True once the server has answered the Tensile hello: the peer is a real client. */
  answered: () => boolean;
}

/**
 * Caps open TCP connections. At the cap, a new connection evicts the oldest one still in its
 * TLS or Tensile handshake instead of being refused: slow handshakers (slowloris) cannot hold
 * every slot, while clients that finished their handshake are never evicted. Only when every
 * slot is an established connection is the newcomer refused.
 */
export class Admission {
  /** By `address:port`, oldest first (Map keeps insertion order). */
  private readonly open = new Map<string, Entry>();
  evicted = 0;
  refused = 0;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.open.size;
  }

  /** Every TCP connection, before TLS. `plain`: the socket ServerConnection will use directly. */
  admit(raw: Socket, plain: boolean): boolean {
    if (this.open.size >= this.max && !this.evictOne()) {
      this.refused++;
      raw.destroy();
      return false;
    }
    const key = keyOf(raw);
    const entry: Entry = {
      raw,
      since: performance.now(),
      answered: plain ? () => raw.bytesWritten > 0 : () => false,
    };
    this.open.set(key, entry);
    raw.once('close', () => {
      if (this.open.get(key) === entry) this.open.delete(key);
    });
    return true;
  }

  /**
   * A TLS connection finished its TLS handshake; it is established once we answer its hello.
   * Returns the ms spent since it was accepted, which count against the handshake timeout.
   */
  secured(socket: Socket): number {
    const entry = this.open.get(keyOf(socket));
    if (!entry) return 0;
    // Cleartext bytes: the first one the server writes is its Tensile hello.
    entry.answered = () => socket.bytesWritten > 0;
    return performance.now() - entry.since;
  }

  private evictOne(): boolean {
    for (const [key, entry] of this.open) {
      if (entry.answered()) continue;
      this.open.delete(key);
      entry.raw.destroy();
      this.evicted++;
      return true;
    }
    return false;
  }
}

const keyOf = (s: Socket) => `${s.remoteAddress}:${s.remotePort}`;
