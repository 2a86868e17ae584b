import type { Metric, Registry } from 'prom-client';
import { Status } from '../core/errors.js';

/**
 * OpenTelemetry's advised boundaries for RPC durations (seconds), extended below 5 ms
 * because calls over loopback or a LAN finish in well under a millisecond.
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5,
  7.5, 10,
];

/** Status names indexed by their wire number, so recording needs no lookup by name. */
const CODE_NAMES: string[] = [];
for (const [name, n] of Object.entries(Status)) CODE_NAMES[n] = name;

/** One status of one method: plain numbers, so recording allocates nothing. */
class Outcome {
  count = 0;
  sum = 0;
  /** Per-bucket (not cumulative) counts; values above the last bound are count − Σ buckets. */
  readonly buckets: Float64Array;
  constructor(size: number) {
    this.buckets = new Float64Array(size);
  }
}

/**
 * Figures for one method on one side, resolved once per method. prom-client's labelled
 * children hash their label object on every observation (microseconds per call), so the
 * call path writes here and the registry reads these figures only when scraped.
 */
export class MethodStats {
  inflight = 0;
  /** Indexed by status number. */
  readonly outcomes: (Outcome | undefined)[] = [];

  constructor(
    readonly service: string,
    readonly method: string,
    private readonly bounds: readonly number[],
  ) {}

  record(code: number, seconds: number): void {
    const outcome = (this.outcomes[code] ??= new Outcome(this.bounds.length));
    outcome.count++;
    outcome.sum += seconds;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    if (i < bounds.length) outcome.buckets[i]!++;
  }
}

export type Side = 'client' | 'server';

/** Every method seen on one side, shared by all filters bound to the same prom-client registry. */
export class CallStats {
  private readonly methods = new Map<string, MethodStats>();

  constructor(
    readonly side: Side,
    readonly bounds: readonly number[],
  ) {}

  /** Cached by full method name; the short name is split off once, on first sight. */
  of(service: string, fullMethod: string): MethodStats {
    let stats = this.methods.get(fullMethod);
    if (!stats) {
      const method = fullMethod.startsWith(`${service}/`) ? fullMethod.slice(service.length + 1) : fullMethod;
      stats = new MethodStats(service, method, this.bounds);
      this.methods.set(fullMethod, stats);
    }
    return stats;
  }

  all(): IterableIterator<MethodStats> {
    return this.methods.values();
  }
}

const tables = new WeakMap<Registry, Partial<Record<Side, CallStats>>>();

/**
 * The CallStats of `side` for `registry`, registering its histogram and in-flight gauge on
 * first use; later callers (more clients or servers in the process) share it.
 */
export function callStats(registry: Registry, side: Side, buckets = DEFAULT_DURATION_BUCKETS): CallStats {
  // Sorted before comparing: the stored bounds are sorted, so the same buckets in another order match.
  const sorted = [...buckets].sort((a, b) => a - b);
  if (sorted.some((b, i) => !Number.isFinite(b) || b === sorted[i - 1]))
    throw new TypeError('buckets must be distinct finite numbers');
  let bySide = tables.get(registry);
  if (!bySide) tables.set(registry, (bySide = {}));
  const existing = bySide[side];
  if (existing) {
    if (existing.bounds.join() !== sorted.join())
      throw new TypeError(`rpc_${side} metrics are already registered with other buckets`);
    return existing;
  }
  const stats = new CallStats(side, sorted);
  register(registry, durationHistogram(stats));
  register(registry, inflightGauge(stats));
  bySide[side] = stats;
  return stats;
}

/**
 * prom-client's Registry reads any object with a name, help, type and get(); its Metric
 * type names only its own classes, hence the cast.
 */
interface Collector {
  name: string;
  help: string;
  type: 'histogram' | 'gauge';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: Sample[] }>;
  reset(): void;
}

interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

function register(registry: Registry, collector: Collector): void {
  registry.registerMetric(collector as unknown as Metric);
}

function durationHistogram(stats: CallStats): Collector {
  const name = `rpc_${stats.side}_call_duration_seconds`;
  const help =
    stats.side === 'client'
      ? 'Duration of outgoing RPC calls, including retries, by service, method and status.'
      : 'Duration of incoming RPC calls in server filters and handler, by service, method and status.';
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: Sample[] = [];
      for (const m of stats.all()) {
        m.outcomes.forEach((o, code) => {
          if (!o) return;
          const labels = {
            rpc_service: m.service,
            rpc_method: m.method,
            rpc_response_status_code: CODE_NAMES[code]!,
          };
          let cumulative = 0;
          stats.bounds.forEach((le, i) => {
            cumulative += o.buckets[i]!;
            values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
          });
          values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: o.count });
          values.push({ metricName: `${name}_sum`, labels, value: o.sum });
          values.push({ metricName: `${name}_count`, labels, value: o.count });
        });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
    reset() {
      for (const m of stats.all()) m.outcomes.length = 0;
    },
  };
}

function inflightGauge(stats: CallStats): Collector {
  const name = `rpc_${stats.side}_calls_in_flight`;
  const help = `${stats.side === 'client' ? 'Outgoing' : 'Incoming'} RPC calls not yet finished.`;
  return {
    name,
    help,
    type: 'gauge',
    aggregator: 'sum',
    async get() {
      const values: Sample[] = [];
      for (const m of stats.all())
        values.push({ labels: { rpc_service: m.service, rpc_method: m.method }, value: m.inflight });
      return { name, help, type: 'gauge', aggregator: 'sum', values };
    },
    // Calls in flight are a fact, not an accumulation; resetMetrics() must not zero them.
    reset() {},
  };
}
