/** Who a call is from, once authenticated. */
export interface Principal {
  /** Stable name: the token's owner, or the certificate's URI SAN / common name. */
  readonly id: string;
  /** How the caller proved it. */
  readonly via: 'token' | 'certificate';
  readonly roles: readonly string[];
  /** Anything else the verifier wants handlers to see (token claims, tenant…). */
  readonly claims?: Readonly<Record<string, unknown>>;
}

declare module '../core/context.js' {
  interface CallContext {
    /** Set by the authentication filter on the server. */
    readonly principal?: Principal;
  }
}
