import type { SecureContextOptions, Server as TlsServer } from 'node:tls';

/** TLS for a listening server: a certificate, and optionally client certificates checked against `ca`. */
export interface ServerTlsOptions {
  /** PEM private key(s) of the server certificate. */
  key: SecureContextOptions['key'];
  /** PEM certificate chain presented to clients. */
  cert: SecureContextOptions['cert'];
  /** CAs that sign acceptable client certificates (mTLS). */
  ca?: SecureContextOptions['ca'];
  /** Ask clients for a certificate (default: true when `ca` is given). */
  requestCert?: boolean;
  /**
   * With `requestCert` and no `ca`, verify client certificates against Node's bundled public
   * root CAs. Default false, and then that combination throws: any publicly issued certificate
   * would verify, and its name become a principal.
   */
  trustPublicRoots?: boolean;
  /**
   * Refuse connections whose client certificate does not verify against `ca` (default: true
   * when a certificate is requested). With false, the handshake succeeds and filters decide
   * from `ctx.peerIdentity.authorized`.
   */
  rejectUnauthorized?: boolean;
  /** Lowest TLS version accepted; default TLSv1.2. */
  minVersion?: SecureContextOptions['minVersion'];
  ciphers?: string;
  /** Passphrase of an encrypted key. */
  passphrase?: string;
}

/** TLS for a dialling client (wire protocol or registry over https). */
export interface ClientTlsOptions {
  /** CAs that sign the server certificate; default Node's bundled roots. */
  ca?: SecureContextOptions['ca'];
  /** Client certificate and key, for servers that require mTLS. */
  cert?: SecureContextOptions['cert'];
  key?: SecureContextOptions['key'];
  passphrase?: string;
  /** Name checked against the server certificate (and sent as SNI); default the host dialled. */
  servername?: string;
  /** Only for tests against self-signed servers; default true. */
  rejectUnauthorized?: boolean;
  minVersion?: SecureContextOptions['minVersion'];
}

/** Node's tls.createServer options from ours, with safe defaults filled in. */
export function serverTlsContext(o: ServerTlsOptions) {
  if (!o.key || !o.cert) throw new TypeError('tls needs both key and cert');
  const requestCert = o.requestCert ?? o.ca !== undefined;
  if (requestCert && o.ca === undefined && !o.trustPublicRoots) {
    throw new TypeError(
      'tls.requestCert without tls.ca would accept any client certificate from a public CA: ' +
        'give the ca that signs your client certificates, or set trustPublicRoots: true',
    );
  }
  return {
    key: o.key,
    cert: o.cert,
    ...(o.ca === undefined ? {} : { ca: o.ca }),
    ...(o.passphrase === undefined ? {} : { passphrase: o.passphrase }),
    ...(o.ciphers === undefined ? {} : { ciphers: o.ciphers }),
    minVersion: o.minVersion ?? 'TLSv1.2',
    requestCert,
    rejectUnauthorized: o.rejectUnauthorized ?? requestCert,
  } as const;
}

/**
 * Gives a listening tls.Server new options: new connections get the new certificate and the new
 * client-certificate policy. setSecureContext alone keeps requestCert and rejectUnauthorized, which
 * Node reads from the server for each connection, so adding or removing `ca` would not turn mTLS on
 * or off.
 */
export function reloadServerTls(server: TlsServer, o: ServerTlsOptions): void {
  const context = serverTlsContext(o);
  server.setSecureContext(context);
  Object.assign(server, { requestCert: context.requestCert, rejectUnauthorized: context.rejectUnauthorized });
}

/** Node's tls.connect options from ours; `host` is the dialled host, used for the name check. */
export function clientTlsConnectOptions(o: ClientTlsOptions, host: string) {
  // SNI must not be an IP address; the certificate check still uses `host` through checkServerIdentity.
  const isIp = /^[\d.]+$|:/.test(host);
  const servername = o.servername ?? (isIp ? undefined : host);
  return {
    ...(o.ca === undefined ? {} : { ca: o.ca }),
    ...(o.cert === undefined ? {} : { cert: o.cert }),
    ...(o.key === undefined ? {} : { key: o.key }),
    ...(o.passphrase === undefined ? {} : { passphrase: o.passphrase }),
    ...(servername === undefined ? {} : { servername }),
    minVersion: o.minVersion ?? 'TLSv1.2',
    rejectUnauthorized: o.rejectUnauthorized ?? true,
  } as const;
}
