import type { PeerCertificate, TLSSocket } from 'node:tls';

/**
 * Who is on the other end of a TLS connection, as its certificate says. The names of a certificate
 * that did not verify (`authorized: false`, possible with `rejectUnauthorized: false`) are kept, for
 * filters that pin self-signed certificates by fingerprint, but they are claims anyone can make:
 * check `authorized` before trusting them (`clientCertificate()` does).
 */
export interface PeerIdentity {
  /** The client certificate chains to a trusted CA (always true when the server requires client certs). */
  readonly authorized: boolean;
  /** Why it is not authorized (e.g. `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, or `no certificate`). */
  readonly authorizationError?: string;
  /** Subject fields of the client certificate (`CN`, `O`, …); absent without a certificate. */
  readonly subject?: Readonly<Record<string, string>>;
  readonly commonName?: string;
  /** subjectAltName entries as written in the certificate: `DNS:a.example`, `URI:spiffe://…`, `IP Address:…`. */
  readonly altNames: readonly string[];
  /** SHA-256 fingerprint of the client certificate, colon-separated hex (pinning, audit logs). */
  readonly fingerprint256?: string;
  /** Negotiated TLS version, e.g. `TLSv1.3`. */
  readonly protocol?: string;
}

declare module '../core/context.js' {
  interface CallContext {
    /** Server side over TLS: the caller's certificate identity. Absent on plain TCP. */
    readonly peerIdentity?: PeerIdentity;
  }
}

/** Reads the identity once per connection, after the TLS handshake. */
export function peerIdentityOf(socket: TLSSocket): PeerIdentity {
  const cert = socket.getPeerCertificate() as PeerCertificate | Record<string, never>;
  const has = cert && typeof cert === 'object' && 'subject' in cert && cert.subject !== undefined;
  const protocol = socket.getProtocol() ?? undefined;
  if (!has) {
    return {
      authorized: false,
      authorizationError: 'no client certificate',
      altNames: [],
      ...(protocol ? { protocol } : {}),
    };
  }
  const c = cert as PeerCertificate;
  const subject = flatten(c.subject);
  const error = socket.authorizationError;
  return {
    authorized: socket.authorized,
    ...(error ? { authorizationError: String(error) } : {}),
    subject,
    ...(subject.CN ? { commonName: subject.CN } : {}),
    altNames: c.subjectaltname ? c.subjectaltname.split(', ').filter(Boolean) : [],
    fingerprint256: c.fingerprint256,
    ...(protocol ? { protocol } : {}),
  };
}

/** Node may give repeated subject fields as arrays; identities compare on plain strings. */
function flatten(subject: object): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(subject)) out[k] = Array.isArray(v) ? v.join('+') : String(v);
  return out;
}
