import type { Socket } from 'node:net';

interface Entry {
  readonly raw: Socket;
  /** When the TCP connection was accepted (performance.now()). */
  readonly since: number;
  /** True once the server has answered the Tensile hello (and not ended it): a real client. */
  answered: () => boolean;
  /** A TLS connection still in its TLS handshake. */
  inTls: boolean;
}

/**
 * Caps open TCP connections. At the cap, a new connection evicts the oldest one still in its
 * TLS or Tensile handshake instead of being refused: slow handshakers (slowloris) cannot hold
 * every slot, while clients that finished their handshake are never evicted. Only when every
 * slot is an established connection is the newcomer refused.
 */
export class Admission {
  /** By `address:port` (the socket itself once reset), oldest first (Map keeps insertion order). */
  private readonly open = new Map<string | Socket, Entry>();
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
      answered: plain ? () => established(raw) : () => false,
      inTls: !plain,
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
    entry.answered = () => established(socket);
    entry.inTls = false;
    return performance.now() - entry.since;
  }

  /** On close: connections still in their TLS handshake are not ours to wait for. */
  destroyTlsHandshakes(): void {
    for (const entry of this.open.values()) if (entry.inTls) entry.raw.destroy();
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

/**
 * Answered and not ended by the server. A connection the server is ending (refused hello, idle,
 * draining) may be evicted: it is going anyway, and its peer may be one that never closes.
 */
const established = (s: Socket) => s.bytesWritten > 0 && !s.writableEnded;

/** A socket reset before it was admitted has no address: it is its own key, never `undefined:undefined`. */
const keyOf = (s: Socket): string | Socket =>
  s.remoteAddress === undefined || s.remotePort === undefined ? s : `${s.remoteAddress}:${s.remotePort}`;
