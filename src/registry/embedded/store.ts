import { randomUUID } from 'node:crypto';
import { createEmitter, type Event } from '../../core/events.js';
import type { Instance, InstanceStatus } from '../instance.js';
import { DeltaQueue } from './delta-queue.js';

/** Eureka-only fields kept verbatim so Eureka clients read back what they registered. */
export type EurekaExtras = Readonly<Record<string, unknown>>;

export interface Lease {
  /** What others see: `status` is the override when one is set. */
  instance: Instance;
  /** The status the instance itself last reported. */
  ownStatus: InstanceStatus;
  /** Operator override (Eureka's overriddenStatus); wins over ownStatus. */
  override?: InstanceStatus;
  eureka?: EurekaExtras;
  /** This lease's TTL and the renew interval its client keeps (Eureka clients declare their own). */
  ttlMs: number;
  renewIntervalMs: number;
  expiresAt: number;
  lastRenewedAt: number;
  /** When this lease began in this server process; self-preservation counts renewals from here. */
  leaseStartedAt: number;
  lastUpdatedAt: number;
}

/** What a client declared for its lease; the server's defaults apply where it declared nothing. */
export interface LeaseTerms {
  ttlMs?: number;
  renewIntervalMs?: number;
}

export type ChangeType = 'added' | 'modified' | 'deleted';
export interface Change {
  readonly version: number;
  readonly type: ChangeType;
  readonly service: string;
  readonly lease: Lease;
  readonly at: number;
}

export interface SelfPreservationOptions {
  /** Eviction stops when renewals in the window fall below threshold × expected; default 0.85. */
  threshold?: number;
  /** Sliding window over which renewals are counted; default 2 × lease TTL. */
  windowMs?: number;
  /** Below this many leases, losing a few is not evidence of a partition; default 10. */
  minLeases?: number;
}

export interface StoreOptions {
  leaseTtlMs: number;
  /** The renew interval clients are told to use; self-preservation's expectation. */
  renewIntervalMs: number;
  selfPreservation?: SelfPreservationOptions | false;
  maxInstances?: number;
  /** How long changes stay in the Eureka delta queue; default 180 s, as Eureka. */
  deltaRetentionMs?: number;
  /** Bound on the approximate bytes the delta queue holds; default 32 MiB (see DeltaQueue). */
  deltaMaxBytes?: number;
  now?: () => number;
}

export class CapacityError extends Error {}

const BUCKETS = 10;

/** Leases, a global change version, change events, eviction and self-preservation. */
export class RegistryStore {
  /** Identifies this server process; a client resuming with another epoch knows state was lost. */
  readonly epoch = randomUUID();
  readonly startedAt: number;
  private versionSeq = 0;
  private readonly leases = new Map<string, Map<string, Lease>>();
  private count = 0;
  private readonly changesEmitter = createEmitter<Change>();
  private readonly preservationEmitter = createEmitter<{ active: boolean; ratio: number }>();
  private readonly deltas: DeltaQueue;
  private readonly renewBuckets = new Array<number>(BUCKETS).fill(0);
  private bucketIndex = 0;
  private bucketStartedAt: number;
  private preserving = false;
  private readonly now: () => number;
  private readonly sp: Required<SelfPreservationOptions> | undefined;
  renewals = 0;

  constructor(private readonly opts: StoreOptions) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.bucketStartedAt = this.now();
    this.deltas = new DeltaQueue({
      ...(opts.deltaRetentionMs === undefined ? {} : { retentionMs: opts.deltaRetentionMs }),
      ...(opts.deltaMaxBytes === undefined ? {} : { maxBytes: opts.deltaMaxBytes }),
    });
    this.sp =
      opts.selfPreservation === false
        ? undefined
        : {
            threshold: opts.selfPreservation?.threshold ?? 0.85,
            windowMs: opts.selfPreservation?.windowMs ?? 2 * opts.leaseTtlMs,
            minLeases: opts.selfPreservation?.minLeases ?? 10,
          };
  }

  get version(): number {
    return this.versionSeq;
  }
  get size(): number {
    return this.count;
  }
  get selfPreserving(): boolean {
    return this.preserving;
  }
  /** Every change, in version order. */
  get changes(): Event<Change> {
    return this.changesEmitter.event;
  }
  get onSelfPreservation(): Event<{ active: boolean; ratio: number }> {
    return this.preservationEmitter.event;
  }

  get(service: string, id: string): Lease | undefined {
    return this.leases.get(service)?.get(id);
  }
  list(service: string): Instance[] {
    return [...(this.leases.get(service)?.values() ?? [])].map((l) => l.instance).sort(byId);
  }
  leasesOf(service: string): Lease[] {
    return [...(this.leases.get(service)?.values() ?? [])].sort((a, b) => byId(a.instance, b.instance));
  }
  services(): string[] {
    return [...this.leases.keys()].sort();
  }
  /** Every lease whose service matches `pred` (Eureka app names are case-insensitive). */
  *all(): Generator<Lease> {
    for (const byId of this.leases.values()) yield* byId.values();
  }

  /** Creates or replaces a lease; a replacement keeps registeredAt and any operator override. */
  register(instance: Instance, eureka?: EurekaExtras, terms: LeaseTerms = {}): Lease {
    const t = this.now();
    let byId = this.leases.get(instance.service);
    const prior = byId?.get(instance.id);
    if (!prior && this.count >= (this.opts.maxInstances ?? Number.POSITIVE_INFINITY)) {
      throw new CapacityError(`registry is full (${this.count} instances)`);
    }
    if (!byId) this.leases.set(instance.service, (byId = new Map()));
    const override = prior?.override;
    const ttlMs = terms.ttlMs ?? this.opts.leaseTtlMs;
    const lease: Lease = {
      instance: {
        ...instance,
        registeredAt: prior?.instance.registeredAt ?? instance.registeredAt,
        status: override ?? instance.status,
      },
      ownStatus: instance.status,
      ...(override ? { override } : {}),
      ...(eureka ? { eureka } : {}),
      ttlMs,
      renewIntervalMs: terms.renewIntervalMs ?? this.opts.renewIntervalMs,
      expiresAt: t + ttlMs,
      lastRenewedAt: t,
      leaseStartedAt: prior?.leaseStartedAt ?? t,
      lastUpdatedAt: t,
    };
    byId.set(instance.id, lease);
    if (!prior) this.count++;
    this.record(prior ? 'modified' : 'added', lease);
    return lease;
  }

  renew(service: string, id: string): Lease | undefined {
    const lease = this.get(service, id);
    if (!lease) return undefined;
    const t = this.now();
    lease.expiresAt = t + lease.ttlMs;
    lease.lastRenewedAt = t;
    this.renewals++;
    this.rotateBuckets(t);
    this.renewBuckets[this.bucketIndex]!++;
    return lease;
  }

  /** The instance reports its own status. */
  setStatus(service: string, id: string, status: InstanceStatus): Lease | undefined {
    const lease = this.get(service, id);
    if (!lease) return undefined;
    lease.ownStatus = status;
    this.apply(lease);
    return lease;
  }

  /** An operator overrides the status (undefined removes the override). */
  setOverride(service: string, id: string, status: InstanceStatus | undefined): Lease | undefined {
    const lease = this.get(service, id);
    if (!lease) return undefined;
    if (status === undefined) delete lease.override;
    else lease.override = status;
    this.apply(lease);
    return lease;
  }

  remove(service: string, id: string): Lease | undefined {
    const byId = this.leases.get(service);
    const lease = byId?.get(id);
    if (!byId || !lease) return undefined;
    byId.delete(id);
    this.count--;
    if (byId.size === 0) this.leases.delete(service);
    this.record('deleted', lease);
    return lease;
  }

  /** Changes still in the delta queue, oldest first. */
  recentChanges(): readonly Change[] {
    return this.trimDeltas();
  }

  /**
   * One eviction pass. Self-preservation first: if far fewer renewals arrived than the
   * live leases should have sent, the registry, not the instances, is probably cut off,
   * and evicting would empty every client's view at once; so nothing is evicted until
   * renewals recover. Returns the evicted leases.
   */
  evict(): Lease[] {
    const t = this.now();
    this.trimDeltas();
    if (this.sp) {
      const ratio = this.renewalRatio(t);
      const active = this.count >= this.sp.minLeases && ratio < this.sp.threshold;
      if (active !== this.preserving) {
        this.preserving = active;
        this.preservationEmitter.emit({ active, ratio });
      }
      if (active) return [];
    }
    const expired: Lease[] = [];
    for (const lease of this.all()) if (lease.expiresAt <= t) expired.push(lease);
    for (const lease of expired) this.remove(lease.instance.service, lease.instance.id);
    return expired;
  }

  /** Renewals seen in the window divided by those the live leases should have sent. */
  renewalRatio(t = this.now()): number {
    if (!this.sp) return 1;
    this.rotateBuckets(t);
    const windowMs = this.sp.windowMs;
    const bucketMs = windowMs / BUCKETS;
    // Count only whole buckets, plus the current partial one, against the same span.
    const spanStart = this.bucketStartedAt - (BUCKETS - 1) * bucketMs;
    let expected = 0;
    for (const lease of this.all()) {
      // Each lease at its own pace: a Eureka client heartbeating every 30 s is not a tenth alive.
      const interval = lease.renewIntervalMs;
      // A lease that began inside the span owes its first renewal only about an interval in.
      const started = lease.leaseStartedAt > spanStart;
      const from = started ? lease.leaseStartedAt + interval / 2 : spanStart;
      expected += Math.max(0, t - from) / interval;
    }
    if (expected < 1) return 1;
    const actual = this.renewBuckets.reduce((a, b) => a + b, 0);
    return actual / expected;
  }

  private rotateBuckets(t: number): void {
    if (!this.sp) return;
    const bucketMs = this.sp.windowMs / BUCKETS;
    let steps = Math.floor((t - this.bucketStartedAt) / bucketMs);
    if (steps <= 0) return;
    this.bucketStartedAt += steps * bucketMs;
    for (steps = Math.min(steps, BUCKETS); steps > 0; steps--) {
      this.bucketIndex = (this.bucketIndex + 1) % BUCKETS;
      this.renewBuckets[this.bucketIndex] = 0;
    }
  }

  private apply(lease: Lease): void {
    const status = lease.override ?? lease.ownStatus;
    if (lease.instance.status === status) return;
    lease.instance = { ...lease.instance, status };
    lease.lastUpdatedAt = this.now();
    this.record('modified', lease);
  }

  private record(type: ChangeType, lease: Lease): void {
    const change: Change = {
      version: ++this.versionSeq,
      type,
      service: lease.instance.service,
      lease: { ...lease },
      at: this.now(),
    };
    this.deltas.push(change, this.count);
    this.changesEmitter.emit(change);
  }

  private trimDeltas(): readonly Change[] {
    return this.deltas.trim(this.now(), this.count);
  }
}

const byId = (a: Instance, b: Instance) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
