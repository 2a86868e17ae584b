import type { Balancer } from '../balance/balancer.js';
import { trackLoad } from '../balance/load-tracking.js';
import { p2cEwma } from '../balance/p2c-ewma.js';
import {
  fullMethodName,
  type InputOf,
  type Methods,
  type OutputOf,
  type ServiceDefinition,
} from '../contract/define.js';
import { type CallContext, EMPTY_METADATA, type Metadata, NEVER_ABORTED } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import { createEmitter, type Event } from '../core/events.js';
import { compose, type Filter, type Service } from '../core/service.js';
import {
  type ClientPolicies,
  type ClientPolicyEvents,
  type ClientPolicyOptions,
  defaultClientPolicies,
} from '../policy/defaults.js';
import type { Discovery } from '../registry/registry.js';
import type { ClientTlsOptions } from '../security/tls-options.js';
import { type Codec, resolveCodec } from '../wire/codec.js';
import type { ReconnectBackoff } from './backoff.js';
import { type PanicEvent, ServiceDirectory } from './directory.js';
import { DiscoveryWait } from './discovery-wait.js';

export type { PanicEvent } from './directory.js';

import type { Cluster, Directory, EndpointFilterFactory } from './endpoint-types.js';
import { staticDiscovery } from './static-discovery.js';

export interface CallOptions {
  /** Absolute deadline (epoch ms or Date). The earlier of deadline and timeoutMs wins. */
  deadline?: number | Date;
  timeoutMs?: number;
  metadata?: Metadata;
  signal?: AbortSignal;
  /** Key for consistent-hash balancing. */
  hashKey?: string;
}

export interface ClientOptions {
  /** Fixed `host:port` addresses; or use `registry`. */
  addresses?: readonly string[];
  /** Where to find instances of the service by name. */
  registry?: Discovery;
  codec?: Codec | 'json' | 'msgpack';
  /** Picks an endpoint per attempt; default P2C with peak EWMA. */
  balancer?: Balancer;
  /**
   * The resilience stack: options for `defaultClientPolicies()` (the default: budgeted retry
   * with failover, per-endpoint breaker, outlier ejection), a ready stack, or false for none.
   * `close()` disposes only a stack the client built; a ready stack may be shared by several
   * clients, so its owner calls `dispose()` once all of them are closed.
   */
  policies?: ClientPolicyOptions | ClientPolicies | false;
  /** Turns the endpoint directory into the terminal service (failover, forking, broadcast…). */
  cluster?: Cluster;
  /** Service-level filters outside the policies, outermost first (metrics, tracing, fallback). */
  filters?: readonly Filter[];
  /** Per-endpoint filters (breaker, outlier detection); load tracking is always added innermost. */
  endpointFilters?: readonly EndpointFilterFactory[];
  /** Default timeout for calls that set none. */
  timeoutMs?: number;
  /** Metadata sent with every call (call metadata overrides it). */
  metadata?: Metadata;
  connectTimeoutMs?: number;
  maxFrameBytes?: number;
  /** Dial servers over TLS: the CA to trust, and a certificate and key for mTLS. */
  tls?: ClientTlsOptions;
  reconnect?: ReconnectBackoff;
}

/** What a client reports: its policies' events, and panic mode of its directory. */
export interface ClientEvents extends ClientPolicyEvents {
  /** No endpoint is healthy, so calls go to all of them (`panic: true`), or one is healthy again. */
  readonly onPanic: Event<PanicEvent>;
}

type MethodsOf<D> = D extends ServiceDefinition<string, infer M> ? M : never;

/** The typed client: one async function per method, inferred from the definition. */
export type Client<D extends ServiceDefinition> = {
  readonly [K in keyof MethodsOf<D>]: (
    input: InputOf<MethodsOf<D>[K]['input']>,
    options?: CallOptions,
  ) => Promise<OutputOf<MethodsOf<D>[K]['output']>>;
} & {
  /** Closes connections after their calls finish and stops watching the registry. */
  close(): Promise<void>;
  /** The live endpoint set, for tools and tests. */
  readonly $directory: Directory;
  /** Events of the resilience policies (retry, give-up, break, eject…) and panic mode, for metrics and the dashboard. */
  readonly $events: ClientEvents;
};

export function createClient<D extends ServiceDefinition<string, Methods>>(
  def: D,
  options: ClientOptions = {},
): Client<D> {
  const discovery = options.registry ?? (options.addresses ? staticDiscovery(options.addresses) : undefined);
  if (!discovery) throw new TypeError('createClient needs `addresses` or `registry`');
  const policies = resolvePolicies(options.policies);
  const ownsPolicies = policies !== options.policies;
  const balancer = options.balancer ?? p2cEwma();
  const panic = createEmitter<PanicEvent>();
  const directory = new ServiceDirectory({
    service: def.name,
    onPanic: panic.emit,
    discovery,
    balancer,
    codec: resolveCodec(options.codec),
    // Load tracking sits innermost so balancers see the latency of the call itself.
    endpointFilters: [
      ...policies.endpointFilters,
      ...(options.endpointFilters ?? []),
      trackLoad({ decayMs: balancer.loadDecayMs }),
    ],
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    maxFrameBytes: options.maxFrameBytes,
    tls: options.tls,
    backoff: options.reconnect,
  });
  const chain: Service = compose(
    ...(options.filters ?? []),
    ...policies.filters,
  )((options.cluster ?? policies.cluster)(directory));
  // Copied and frozen once, so calls without their own metadata share it instead of copying it.
  const baseMetadata = options.metadata ? Object.freeze({ ...options.metadata }) : undefined;

  const client: Record<string, unknown> = {
    close: async () => {
      if (ownsPolicies) policies.dispose();
      await directory.close();
    },
    $directory: directory,
    $events: { ...policies.events, onPanic: panic.event } satisfies ClientEvents,
  };
  const discoveryWait = new DiscoveryWait(def.name, directory.ready);
  for (const [name, method] of Object.entries(def.methods)) {
    const full = fullMethodName(def.name, name);
    const idempotent = method.idempotent;
    client[name] = (input: unknown, call: CallOptions = NO_OPTIONS) => {
      let ctx: CallContext;
      try {
        ctx = callContext(full, def.name, idempotent, call, options.timeoutMs, baseMetadata);
      } catch (err) {
        return Promise.reject(err);
      }
      return directory.resolved ? chain(input, ctx) : discoveryWait.wait(ctx).then(() => chain(input, ctx));
    };
  }
  return client as Client<D>;
}

function resolvePolicies(option: ClientOptions['policies']): ClientPolicies {
  if (option === false) return defaultClientPolicies({ retry: false, breaker: false, outlier: false });
  if (option && 'endpointFilters' in option) return option;
  return defaultClientPolicies(option);
}

function callContext(
  method: string,
  service: string,
  idempotent: boolean,
  call: CallOptions,
  defaultTimeoutMs: number | undefined,
  baseMetadata: Metadata | undefined,
): CallContext {
  const now = Date.now();
  let deadline = Number.POSITIVE_INFINITY;
  if (call.deadline !== undefined) {
    deadline = call.deadline instanceof Date ? call.deadline.getTime() : call.deadline;
    if (Number.isNaN(deadline))
      throw new RpcError('INVALID_ARGUMENT', 'deadline is not a valid time', notSent);
  }
  const timeoutMs = call.timeoutMs ?? defaultTimeoutMs;
  if (timeoutMs !== undefined) {
    if (!(timeoutMs >= 0))
      throw new RpcError('INVALID_ARGUMENT', `timeoutMs must be >= 0, got ${timeoutMs}`, notSent);
    deadline = Math.min(deadline, now + timeoutMs);
  }
  const metadata = call.metadata
    ? baseMetadata
      ? { ...baseMetadata, ...call.metadata }
      : call.metadata
    : (baseMetadata ?? EMPTY_METADATA);
  const ctx: { -readonly [K in keyof CallContext]: CallContext[K] } = {
    method,
    service,
    deadline,
    signal: call.signal ?? NEVER_ABORTED,
    metadata,
    attempt: 1,
    idempotent,
  };
  if (call.hashKey !== undefined) ctx.hashKey = call.hashKey;
  return ctx;
}

const NO_OPTIONS: CallOptions = Object.freeze({});
const notSent = { mayHaveProcessed: false } as const;
