import type { Filter } from '../core/service.js';
import {
  type AuthenticateOptions,
  type Authenticator,
  authenticate,
  unauthenticated,
} from './authenticate.js';
import type { PeerIdentity } from './peer.js';
import type { Principal } from './principal.js';

export interface ClientCertificateOptions {
  /**
   * Maps a verified certificate to a principal, or undefined to refuse it. Default: the first
   * URI SAN (SPIFFE style), else the common name, with no roles.
   */
  identify?: (identity: PeerIdentity) => Principal | undefined;
}

export const defaultIdentify = (identity: PeerIdentity): Principal | undefined => {
  const uri = identity.altNames.find((n) => n.startsWith('URI:'))?.slice(4);
  const id = uri ?? identity.commonName;
  return id ? { id, via: 'certificate', roles: [] } : undefined;
};

/** Authenticator for client certificates verified by the TLS layer (server listening with `tls.ca`). */
export function clientCertificate(options: ClientCertificateOptions = {}): Authenticator {
  const identify = options.identify ?? defaultIdentify;
  return (ctx) => {
    const identity = ctx.peerIdentity;
    if (!identity || identity.authorizationError === 'no client certificate') return undefined;
    if (!identity.authorized)
      throw unauthenticated(`client certificate not trusted: ${identity.authorizationError ?? 'unverified'}`);
    const principal = identify(identity);
    if (!principal)
      throw unauthenticated(`client certificate ${identity.commonName ?? '(no CN)'} is not accepted here`);
    return principal;
  };
}

/** Server filter: calls need a client certificate signed by the server's CA. */
export function mtlsAuth(options: ClientCertificateOptions & AuthenticateOptions = {}): Filter {
  return authenticate([clientCertificate(options)], options);
}
