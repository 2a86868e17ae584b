import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { secretMatcher } from '../../security/constant-time.js';
import { defaultIdentify } from '../../security/mtls-auth.js';
import { type PeerIdentity, peerIdentityOf } from '../../security/peer.js';
import type { Principal } from '../../security/principal.js';
import { HttpError } from './http-util.js';

export interface RegistryAccess {
  readonly action: 'read' | 'write';
  /** HTTP method and path of the request. */
  readonly method: string;
  readonly path: string;
}

/** Who may change (and optionally read) the embedded registry. */
export interface RegistryAuthOptions {
  /** Static bearer tokens: token → owner id, or owner and roles. Compared in constant time. */
  tokens?: Readonly<Record<string, string | { id: string; roles?: readonly string[] }>>;
  /** Verifies other bearer tokens (JWT, introspection): a principal, or undefined when unknown. */
  verify?: (token: string) => Principal | undefined | Promise<Principal | undefined>;
  /**
   * Accept client certificates verified by the registry's TLS `ca` as credentials (default true
   * when TLS has a `ca`); a function maps the identity to a principal (default: URI SAN, else CN).
   */
  certificates?: boolean | ((identity: PeerIdentity) => Principal | undefined);
  /** Reads (lists, watches, Eureka fetches, dashboard) need a credential too; default false. */
  protectReads?: boolean;
  /** Per request, after authentication: false or a reason refuses with 403. Default: allow. */
  authorize?: (principal: Principal, access: RegistryAccess) => boolean | string;
}

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;
/** Liveness probes stay open: they reveal nothing but "up". */
const ALWAYS_OPEN = /^\/v1\/health\/?$/;

/** Returns the request's check: resolves with the principal (if any), or throws 401/403. */
export function registryAccess(options: RegistryAuthOptions, tlsHasCa: boolean) {
  const match = secretMatcher(
    Object.entries(options.tokens ?? {}).map(([token, owner]) => {
      const { id, roles = [] } = typeof owner === 'string' ? { id: owner } : owner;
      return [token, { id, via: 'token', roles: [...roles] } satisfies Principal] as const;
    }),
  );
  const certs = options.certificates ?? tlsHasCa;
  const identify = typeof certs === 'function' ? certs : certs ? defaultIdentify : undefined;
  const challenge = { 'www-authenticate': 'Bearer realm="tensile-registry"' };
  const denied = (message: string) => new HttpError(401, message, challenge);

  const authenticate = async (req: IncomingMessage): Promise<Principal | undefined> => {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = BEARER.exec(header);
      if (!m) throw denied('malformed Authorization header: expected "Bearer <token>"');
      const token = m[1]!;
      let principal: Principal | undefined = match(token);
      if (!principal && options.verify) {
        try {
          principal = await options.verify(token);
        } catch {
          throw denied('bearer token could not be verified');
        }
      }
      if (!principal) throw denied('invalid or expired bearer token');
      return principal;
    }
    const socket = req.socket as Partial<TLSSocket>;
    if (identify && typeof socket.getPeerCertificate === 'function' && socket.authorized) {
      const principal = identify(peerIdentityOf(socket as TLSSocket));
      if (!principal) throw new HttpError(403, 'client certificate is not accepted by this registry');
      return principal;
    }
    return undefined;
  };

  return async (req: IncomingMessage, path: string): Promise<Principal | undefined> => {
    const method = req.method ?? 'GET';
    const action = method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? 'read' : 'write';
    if (ALWAYS_OPEN.test(path)) return undefined;
    const principal = await authenticate(req);
    if (!principal) {
      if (action === 'read' && !options.protectReads) return undefined;
      const how = identify ? 'a bearer token or a client certificate' : 'a bearer token';
      throw denied(`${action === 'read' ? 'reading' : 'changing'} the registry needs ${how}`);
    }
    const verdict = options.authorize?.(principal, { action, method, path }) ?? true;
    if (verdict !== true) {
      const why = typeof verdict === 'string' ? `: ${verdict}` : '';
      throw new HttpError(403, `${principal.id} may not ${method} ${path}${why}`);
    }
    return principal;
  };
}
