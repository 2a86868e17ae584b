// Security: TLS options, peer identity, authentication and authorization filters.
export { type AuthenticateOptions, type Authenticator, authenticate } from './authenticate.js';
export { type AuthorizationRule, authorize, rolesRule } from './authorize.js';
export { type BearerTokenOptions, bearerAuth, bearerFrom, bearerToken } from './bearer.js';
export { safeEqual, secretMatcher } from './constant-time.js';
export { bearerCredentials, type TokenSource } from './credentials.js';
export { type ClientCertificateOptions, clientCertificate, defaultIdentify, mtlsAuth } from './mtls-auth.js';
export { type PeerIdentity, peerIdentityOf } from './peer.js';
export type { Principal } from './principal.js';
export type { ClientTlsOptions, ServerTlsOptions } from './tls-options.js';
