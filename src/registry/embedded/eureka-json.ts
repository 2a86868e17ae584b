/**
 * Mapping between Eureka's JSON instance shape and Tensile instances. Eureka-only
 * fields are kept verbatim, so a Eureka client reads back what it registered, while
 * Tensile clients see plain Instances; Tensile-registered instances get a synthesized
 * Eureka view.
 */
import {
  type Instance,
  type InstanceStatus,
  joinHostPort,
  normalizeInstance,
  splitAddress,
} from '../instance.js';
import { HttpError, isObject } from './http-util.js';
import type { EurekaExtras, Lease, LeaseTerms } from './store.js';

export type EurekaStatus = InstanceStatus | 'UNKNOWN';
const EUREKA_STATUSES: readonly string[] = ['UP', 'DOWN', 'STARTING', 'OUT_OF_SERVICE', 'UNKNOWN'];
/** Metadata key carrying the Tensile weight through Eureka. */
export const WEIGHT_KEY = 'tensile.weight';

export function parseEurekaStatus(value: unknown, field: string): EurekaStatus {
  if (typeof value !== 'string' || !EUREKA_STATUSES.includes(value)) {
    throw new HttpError(
      400,
      `${field} must be one of ${EUREKA_STATUSES.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as EurekaStatus;
}
/** Tensile has no UNKNOWN; an instance of unknown health must not be routed to. */
export const toTensileStatus = (s: EurekaStatus): InstanceStatus => (s === 'UNKNOWN' ? 'DOWN' : s);

const portOf = (v: unknown, field: string): number | undefined => {
  const raw = isObject(v) ? v.$ : v;
  if (raw === undefined || raw === null) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new HttpError(400, `${field} must be a port number`);
  return n;
};
const text = (v: unknown, field: string, required: boolean): string | undefined => {
  if (v === undefined || v === null || v === '') {
    if (required) throw new HttpError(400, `missing required field ${field}`);
    return undefined;
  }
  if (typeof v !== 'string') throw new HttpError(400, `${field} must be a string`);
  return v;
};

/** Validates `{ instance: {...} }` as POSTed to /eureka/apps/{APP}. */
export function fromEureka(
  appFromPath: string,
  body: Record<string, unknown>,
  now: number,
): { instance: Instance; extras: EurekaExtras } {
  const raw = body.instance;
  if (!isObject(raw)) throw new HttpError(400, 'expected a JSON body of the form {"instance": {...}}');
  const hostName = text(raw.hostName, 'instance.hostName', true)!;
  const ipAddr = text(raw.ipAddr, 'instance.ipAddr', true)!;
  const app = text(raw.app, 'instance.app', false) ?? appFromPath;
  if (app.toUpperCase() !== appFromPath.toUpperCase()) {
    throw new HttpError(400, `instance.app ${JSON.stringify(app)} does not match the path's ${appFromPath}`);
  }
  if (!isObject(raw.dataCenterInfo) || typeof raw.dataCenterInfo.name !== 'string') {
    throw new HttpError(400, 'missing required field instance.dataCenterInfo.name');
  }
  const port = portOf(raw.port, 'instance.port') ?? portOf(raw.securePort, 'instance.securePort');
  if (port === undefined) throw new HttpError(400, 'missing required field instance.port');
  const status = raw.status === undefined ? 'UP' : parseEurekaStatus(raw.status, 'instance.status');
  const meta: Record<string, string> = {};
  if (raw.metadata !== undefined && !isObject(raw.metadata)) {
    throw new HttpError(400, 'instance.metadata must be an object');
  }
  for (const [k, v] of Object.entries(raw.metadata ?? {})) if (k !== '@class') meta[k] = String(v);
  const weight = meta[WEIGHT_KEY] === undefined ? 1 : Number(meta[WEIGHT_KEY]);
  delete meta[WEIGHT_KEY];
  const id = text(raw.instanceId, 'instance.instanceId', false) ?? hostName;
  let instance: Instance;
  try {
    instance = normalizeInstance(
      {
        service: appFromPath,
        id,
        address: joinHostPort(ipAddr, port),
        weight: Number.isFinite(weight) && weight >= 0 ? weight : 1,
        ...(meta.zone ? { zone: meta.zone } : {}),
        metadata: meta,
        status: toTensileStatus(status),
        registeredAt: now,
      },
      now,
    );
  } catch (err) {
    // A client's bad ipAddr is its error, not ours: say which field is wrong.
    throw new HttpError(400, `instance.ipAddr ${JSON.stringify(ipAddr)}: ${(err as Error).message}`);
  }
  const { status: _s, overriddenStatus: _o, actionType: _a, lastUpdatedTimestamp: _u, ...extras } = raw;
  return { instance, extras };
}

/** Twice Eureka's default 90 s lease: the longest a silent instance is kept, whatever it asks. */
export const MAX_LEASE_MS = 180_000;

/**
 * The lease a Eureka client asked for in `leaseInfo`. Eureka clients heartbeat every 30 s
 * with a 90 s lease by default; holding them to the server's short TTL would evict them
 * between heartbeats. Never shorter than the server's own TTL and interval (a client cannot
 * make itself expire sooner, nor inflate the renewals self-preservation expects), and at
 * most MAX_LEASE_MS.
 */
export function eurekaLeaseTerms(extras: EurekaExtras, ttlMs: number, renewMs: number): LeaseTerms {
  const info = isObject(extras.leaseInfo) ? extras.leaseInfo : {};
  const secs = (v: unknown) => {
    const n = Number(v);
    return v !== undefined && v !== null && v !== '' && Number.isFinite(n) && n > 0 ? n * 1000 : undefined;
  };
  const ttl = Math.min(MAX_LEASE_MS, Math.max(ttlMs, secs(info.durationInSecs) ?? ttlMs));
  const renew = Math.min(ttl, Math.max(renewMs, secs(info.renewalIntervalInSecs) ?? renewMs));
  return { ttlMs: ttl, renewIntervalMs: renew };
}

/** The Eureka JSON view of a lease. */
export function toEureka(lease: Lease, action?: string): Record<string, unknown> {
  const inst = lease.instance;
  const { host, port } = splitAddress(inst.address);
  const synthesized = {
    hostName: host,
    ipAddr: host,
    vipAddress: inst.service,
    secureVipAddress: inst.service,
    port: { $: port, '@enabled': 'true' },
    securePort: { $: 443, '@enabled': 'false' },
    countryId: 1,
    dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    homePageUrl: `http://${inst.address}/`,
  };
  const base: Readonly<Record<string, unknown>> = lease.eureka ?? synthesized;
  const metadata: Record<string, string> = { ...inst.metadata };
  if (inst.weight !== 1) metadata[WEIGHT_KEY] = String(inst.weight);
  if (inst.zone) metadata.zone = inst.zone;
  const clientLease = isObject(base.leaseInfo) ? base.leaseInfo : {};
  return {
    ...base,
    instanceId: inst.id,
    app: inst.service.toUpperCase(),
    status: inst.status,
    overriddenStatus: lease.override ?? 'UNKNOWN',
    leaseInfo: {
      ...clientLease,
      // The terms in force, which may differ from what the client asked for (eurekaLeaseTerms).
      renewalIntervalInSecs: Math.max(1, Math.round(lease.renewIntervalMs / 1000)),
      durationInSecs: Math.max(1, Math.round(lease.ttlMs / 1000)),
      registrationTimestamp: inst.registeredAt,
      lastRenewalTimestamp: lease.lastRenewedAt,
      evictionTimestamp: 0,
      serviceUpTimestamp: inst.registeredAt,
    },
    metadata: Object.keys(metadata).length ? metadata : { '@class': 'java.util.Collections$EmptyMap' },
    isCoordinatingDiscoveryServer: 'false',
    lastUpdatedTimestamp: String(lease.lastUpdatedAt),
    lastDirtyTimestamp: String(base.lastDirtyTimestamp ?? lease.lastUpdatedAt),
    ...(action ? { actionType: action } : {}),
  };
}

/** Eureka's reconciliation hash: status counts in status order, e.g. "DOWN_1_UP_3_". */
export function appsHashCode(statuses: Iterable<string>): string {
  const counts = new Map<string, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([s, n]) => `${s}_${n}_`)
    .join('');
}
