import { performance } from 'node:perf_hooks';
import { defineService, type as typeOnly, unary } from '../contract/define.js';
import { isRpcError } from '../core/errors.js';
import type { Filter } from '../core/service.js';
import { Histogram } from './histogram.js';

/** One server's load over the recent window, as the stats service returns it. */
export interface LoadSnapshot {
  /** Epoch ms when the snapshot was taken. */
  at: number;
  uptimeMs: number;
  /** Span the windowed figures cover: the window, or less while the server is young. */
  windowMs: number;
  /** Calls running now (admitted, not yet answered): fast but noisy. */
  inflight: number;
  /**
   * Calls in flight averaged over time across the last few seconds (Little's L): as
   * direct as `inflight`, without its sampling noise. The steadiest scaling signal.
   */
  concurrency: number;
  /** Calls completed per second over the window (success, error or shed). */
  rate: number;
  /** Latency of calls that were not shed, over the window. */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Completed calls in the window. */
  calls: number;
  /** Failed calls in the window other than shed ones. */
  errors: number;
  /** Calls refused with RESOURCE_EXHAUSTED in the window. */
  shed: number;
  /** Event-loop utilization over the window, 0…1: the saturation of a Node.js process. */
  utilization: number;
  /** CPU time over the window as a fraction of one core (may exceed 1 with worker threads). */
  cpu: number;
  /** The instance's declared concurrency capacity, when it has one. */
  capacity?: number;
  pid: number;
}

export interface LoadTrackerOptions {
  /** Width of one time bucket; default 1 s. */
  bucketMs?: number;
  /** Buckets in the sliding window; default 10. */
  buckets?: number;
  /** Declared concurrency capacity, reported as-is. */
  capacity?: number;
  /** Buckets `concurrency` averages over (the current one included); default 3. */
  concurrencyBuckets?: number;
  now?: () => number;
  /** Cumulative event-loop and CPU readings; default: perf_hooks and process.cpuUsage. */
  probe?: () => { activeMs: number; idleMs: number; cpuMicros: number };
  /** Sample utilization on a timer too, so idle servers report it; default true. */
  timer?: boolean;
}

export interface LoadTracker {
  /** Outermost server filter: it must see calls that inner filters shed. */
  readonly filter: Filter;
  snapshot(): LoadSnapshot;
  /** Stops the sampling timer. */
  close(): void;
}

interface Bucket {
  /** Index of the time slot (floor(now / bucketMs)) this bucket holds; -1 when unused. */
  slot: number;
  calls: number;
  errors: number;
  shed: number;
  /** Integral of calls in flight over time in this slot (call·ms). */
  area: number;
  latency: Histogram;
  /** Probe reading when this slot opened, and when it was taken. */
  probe: { activeMs: number; idleMs: number; cpuMicros: number } | undefined;
  probeAt: number;
}

const defaultProbe = () => {
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  return { activeMs: elu.active, idleMs: elu.idle, cpuMicros: cpu.user + cpu.system };
};

/** The stats service's own calls are not load and must not skew the figures they report. */
export const STATS_SERVICE = 'tensile.stats';

/**
 * Tracks one server's load in a ring of time buckets. Each call costs a counter update
 * and a histogram increment; a snapshot merges the ring (a few thousand additions), so
 * reading it every second is cheap.
 */
export function createLoadTracker(options: LoadTrackerOptions = {}): LoadTracker {
  const now = options.now ?? Date.now;
  const bucketMs = options.bucketMs ?? 1_000;
  const size = options.buckets ?? 10;
  const probe = options.probe ?? defaultProbe;
  const ring: Bucket[] = Array.from({ length: size }, () => ({
    slot: -1,
    calls: 0,
    errors: 0,
    shed: 0,
    area: 0,
    latency: new Histogram(),
    probe: undefined,
    probeAt: 0,
  }));
  const startedAt = now();
  const concurrencyBuckets = Math.min(size, options.concurrencyBuckets ?? 3);
  let inflight = 0;
  let accruedTo = startedAt;

  const open = (slot: number, withProbe: boolean): Bucket => {
    const bucket = ring[slot % size]!;
    if (bucket.slot !== slot) {
      bucket.slot = slot;
      bucket.calls = bucket.errors = bucket.shed = bucket.area = 0;
      bucket.latency.reset();
      // A slot opened late (for past in-flight time) has no reading from its start.
      bucket.probe = withProbe ? probe() : undefined;
      bucket.probeAt = now();
    }
    return bucket;
  };
  const current = (): Bucket => open(Math.floor(now() / bucketMs), true);

  /** Adds in-flight time up to t, split across the slots it spans. */
  const accrue = (t: number) => {
    accruedTo = Math.max(accruedTo, (Math.floor(t / bucketMs) - size + 1) * bucketMs);
    while (accruedTo < t) {
      const slot = Math.floor(accruedTo / bucketMs);
      const end = Math.min(t, (slot + 1) * bucketMs);
      if (inflight > 0) open(slot, slot === Math.floor(t / bucketMs)).area += inflight * (end - accruedTo);
      accruedTo = end;
    }
  };

  const filter: Filter = async (req, ctx, next) => {
    if (ctx.service === STATS_SERVICE) return next(req, ctx);
    const started = performance.now();
    accrue(now());
    inflight++;
    try {
      const res = await next(req, ctx);
      const bucket = current();
      bucket.calls++;
      bucket.latency.recordMs(performance.now() - started);
      return res;
    } catch (err) {
      const bucket = current();
      bucket.calls++;
      if (isRpcError(err, 'RESOURCE_EXHAUSTED')) bucket.shed++;
      else {
        bucket.errors++;
        bucket.latency.recordMs(performance.now() - started);
      }
      throw err;
    } finally {
      accrue(now());
      inflight--;
    }
  };

  const merged = new Histogram();
  const snapshot = (): LoadSnapshot => {
    const t = now();
    accrue(t);
    const head = current();
    const oldestSlot = head.slot - size + 1;
    merged.reset();
    let calls = 0;
    let errors = 0;
    let shed = 0;
    let first: Bucket | undefined;
    let area = 0;
    const recentSlot = head.slot - concurrencyBuckets + 1;
    for (const b of ring) {
      if (b.slot < oldestSlot || b.slot < 0) continue;
      if (b.slot >= recentSlot) area += b.area;
      calls += b.calls;
      errors += b.errors;
      shed += b.shed;
      merged.add(b.latency);
      if (b.probe && (!first || b.slot < first.slot)) first = b;
    }
    const windowStart = Math.max(startedAt, oldestSlot * bucketMs);
    const windowMs = Math.max(1, t - windowStart);
    const [p50Ms = 0, p90Ms = 0, p99Ms = 0] = merged.quantilesMs([0.5, 0.9, 0.99]);
    const reading = probe();
    let utilization = 0;
    let cpu = 0;
    if (first?.probe) {
      const active = reading.activeMs - first.probe.activeMs;
      const elapsed = active + reading.idleMs - first.probe.idleMs;
      utilization = elapsed > 0 ? active / elapsed : 0;
      const wallMs = t - first.probeAt;
      cpu = wallMs > 0 ? (reading.cpuMicros - first.probe.cpuMicros) / 1000 / wallMs : 0;
    }
    return {
      at: t,
      uptimeMs: t - startedAt,
      windowMs,
      inflight,
      concurrency: round(area / Math.max(1, t - Math.max(startedAt, recentSlot * bucketMs))),
      rate: (calls * 1000) / windowMs,
      p50Ms,
      p90Ms,
      p99Ms,
      calls,
      errors,
      shed,
      utilization: round(utilization),
      cpu: round(cpu),
      ...(options.capacity === undefined ? {} : { capacity: options.capacity }),
      pid: process.pid,
    };
  };

  // Without traffic no bucket would open and utilization would have no baseline reading.
  const timer = options.timer === false ? undefined : setInterval(current, bucketMs);
  timer?.unref();
  current();
  return { filter, snapshot, close: () => clearInterval(timer) };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** The built-in stats service every scalable server implements. */
export const StatsService = defineService(STATS_SERVICE, {
  get: unary({ input: typeOnly<void>(), output: typeOnly<LoadSnapshot>(), idempotent: true }),
});

/** Handlers for `server.implement(StatsService, statsHandlers(tracker))`. */
export function statsHandlers(tracker: Pick<LoadTracker, 'snapshot'>) {
  return { get: async () => tracker.snapshot() };
}
