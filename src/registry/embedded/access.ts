import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { secretMatcher } from '../../security/constant-time.js';
import { defaultIdentify } from '../../security/mtls-auth.js';
import { type PeerIdentity, peerIdentityOf } from '../../security/peer.js';
import type { Principal } from '../../security/principal.js';
import type { ServerTlsOptions } from '../../security/tls-options.js';
import { type Caller, HttpError } from './http-util.js';

/** What a registry request does; the route decides it from the decoded path. */
export type RegistryOperation =
  | 'list' // reads spanning services: service list, Eureka full and delta fetches
  | 'read' // one service, or one instance of it
  | 'watch'
  | 'register'
  | 'renew'
  | 'status' // status changes and Eureka overrides
  | 'deregister'
  | 'health'
  | 'dashboard'
  | 'metrics';

/** One service (or none) a request touches, as the route resolved it. */
export interface AccessTarget {
  readonly operation: RegistryOperation;
  readonly service?: string;
  readonly instanceId?: string;
}

const WRITES: ReadonlySet<RegistryOperation> = new Set(['register', 'renew', 'status', 'deregister']);

export interface RegistryAccess extends AccessTarget {
  readonly action: 'read' | 'write';
  /**
   * The stored Tensile service name, decoded and exact. Eureka app names are case-insensitive,
   * so a Eureka request is authorized once per stored service its app name matches (and, for a
   * registration, the name it would create); every one must be allowed. Undefined when the
   * request spans services (`list`, `dashboard`, `metrics`, `health`).
   */
  readonly service?: string;
  /** The instance id from the path, decoded; undefined for a Tensile registration (it is in the body). */
  readonly instanceId?: string;
  /**
   * HTTP method and raw request path, for messages and logs only: the same service is reachable
   * under many spellings (percent-encoding, case, prefixes, trailing slashes). Decide on
   * `operation`, `service` and `instanceId`.
   */
  readonly method: string;
  readonly path: string;
}

/** Who may change (and optionally read) the embedded registry. */
export interface RegistryAuthOptions {
  /** Static bearer tokens: token → owner id, or owner and roles. Compared in constant time. */
  tokens?: Readonly<Record<string, string | { id: string; roles?: readonly string[] }>>;
  /**
   * Verifies other bearer tokens (JWT, introspection): a principal, or undefined when unknown.
   * A thrown `HttpError` is answered as is; any other error is a 401 that does not echo it.
   */
  verify?: (token: string) => Principal | undefined | Promise<Principal | undefined>;
  /**
   * Accept client certificates verified by the registry's TLS `ca` as credentials (default true
   * when TLS has a `ca`); a function maps the identity to a principal (default: URI SAN, else CN).
   * Setting it without `tls.ca` throws, unless `tls.requestCert` and `tls.trustPublicRoots` opt in.
   */
  certificates?: boolean | ((identity: PeerIdentity) => Principal | undefined);
  /** Reads (lists, watches, Eureka fetches, dashboard) need a credential too; default false. */
  protectReads?: boolean;
  /** Per request, after authentication: false or a reason refuses with 403. Default: allow. */
  authorize?: (principal: Principal, access: RegistryAccess) => boolean | string;
}

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

/**
 * Client certificates as credentials need a CA of your own: without `tls.ca`, Node verifies them
 * against its public root store, so any publicly issued certificate would name a principal.
 * `tls.requestCert` with `tls.trustPublicRoots` is the explicit opt-in.
 */
export function checkCertificateAuth(
  auth: RegistryAuthOptions | undefined,
  tls: ServerTlsOptions | undefined,
) {
  if (!auth?.certificates || tls?.ca !== undefined) return;
  if (tls?.requestCert && tls.trustPublicRoots) return;
  throw new TypeError(
    'auth.certificates needs tls.ca, the CA that signs your client certificates: without it any ' +
      'certificate from a public CA would be a credential (opt in with tls.requestCert and tls.trustPublicRoots)',
  );
}

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
        } catch (err) {
          // A verifier's own HTTP answer (say 403 for a revoked token) stands; a crash says nothing.
          if (err instanceof HttpError) throw err;
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

  const check = (principal: Principal, target: AccessTarget, method: string, path: string) =>
    options.authorize?.(principal, {
      ...target,
      action: WRITES.has(target.operation) ? 'write' : 'read',
      method,
      path,
    }) ?? true;

  /**
   * Authenticates, then authorizes every target; `targets` is asked after authentication (which
   * may await a verifier), so it sees the store as the handler will.
   */
  return async (
    req: IncomingMessage,
    path: string,
    targets: () => readonly AccessTarget[],
  ): Promise<Caller> => {
    const method = req.method ?? 'GET';
    // Liveness probes stay open, even with a bad credential; with protectReads, only callers
    // who may read get more than "up" (the handler decides from `mayRead`).
    if (targets().every((t) => t.operation === 'health')) {
      const principal = await authenticate(req).catch(() => undefined);
      if (!options.protectReads) return { principal, mayRead: true };
      const mayRead =
        principal !== undefined && check(principal, { operation: 'health' }, method, path) === true;
      return { principal, mayRead };
    }
    const principal = await authenticate(req);
    const list = targets();
    const action = list.some((t) => WRITES.has(t.operation)) ? 'write' : 'read';
    if (!principal) {
      if (action === 'read' && !options.protectReads) return { mayRead: true };
      const how = identify ? 'a bearer token or a client certificate' : 'a bearer token';
      throw denied(`${action === 'read' ? 'reading' : 'changing'} the registry needs ${how}`);
    }
    for (const target of list) {
      const verdict = check(principal, target, method, path);
      if (verdict !== true) {
        const why = typeof verdict === 'string' ? `: ${verdict}` : '';
        throw new HttpError(403, `${principal.id} may not ${method} ${path}${why}`);
      }
    }
    return { principal, mayRead: true };
  };
}
