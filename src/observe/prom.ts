import { Counter, Gauge, type Registry } from 'prom-client';
import { type Disposable, disposable } from '../core/events.js';

interface Spec<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
}

/**
 * The counter named `spec.name` in `registry`, created on first use, so several clients or
 * policies binding to one registry add to the same series instead of colliding.
 */
export function counter<L extends string>(registry: Registry, spec: Spec<L>): Counter<L> {
  const existing = registry.getSingleMetric(spec.name);
  if (existing instanceof Counter) return existing as Counter<L>;
  if (existing) throw new TypeError(`${spec.name} is already registered as another kind of metric`);
  return new Counter({ ...spec, labelNames: [...spec.labelNames], registers: [registry] });
}

export function gauge<L extends string>(registry: Registry, spec: Spec<L>): Gauge<L> {
  const existing = registry.getSingleMetric(spec.name);
  if (existing instanceof Gauge && !readers.has(existing)) return existing as Gauge<L>;
  if (existing) throw new TypeError(`${spec.name} is already registered as another kind of metric`);
  return new Gauge({ ...spec, labelNames: [...spec.labelNames], registers: [registry] });
}

type Labels<L extends string> = Partial<Record<L, string | number>>;
/** Called on every scrape; reports current values through `set`. */
export type Reader<L extends string> = (set: (labels: Labels<L>, value: number) => void) => void;

interface Sources {
  readers: Set<Reader<string>>;
  /** Counters only: what disposed readers had counted, so a `_total` never goes down. */
  retired: Map<string, { labels: Labels<string>; value: number }>;
}
const readers = new WeakMap<object, Sources>();

const labelKey = (labels: Labels<string>) => JSON.stringify(Object.entries(labels).sort());

/** One reader's values, summed per label set. */
function readAll(read: Reader<string>): Map<string, { labels: Labels<string>; value: number }> {
  const values = new Map<string, { labels: Labels<string>; value: number }>();
  read((labels, value) => {
    const key = labelKey(labels);
    const entry = values.get(key);
    if (entry) entry.value += value;
    else values.set(key, { labels, value });
  });
  return values;
}

/**
 * A metric whose values are read from their sources at scrape time (sizes, replica counts,
 * totals kept elsewhere) rather than pushed on every change. Several readers may share one
 * metric, their values summed per label set. A disposed reader's gauge series vanish on the
 * next scrape; its counter totals stay, as a fixed part of the sum.
 */
export function pulled<L extends string>(
  registry: Registry,
  kind: 'gauge' | 'counter',
  spec: Spec<L>,
  read: Reader<L>,
): Disposable {
  let metric = registry.getSingleMetric(spec.name);
  if (!metric) {
    const sources: Sources = { readers: new Set(), retired: new Map() };
    const options = { ...spec, labelNames: [...spec.labelNames], registers: [registry] };
    // Counters have no set(): after a reset, inc() reports each source's current value
    // (summed when several sources report the same labels).
    const collect = function (this: Gauge<string> | Counter<string>) {
      this.reset();
      for (const { labels, value } of sources.retired.values()) this.inc(labels, value);
      for (const r of sources.readers) {
        // A source that throws loses its series for this scrape; the rest of the scrape stands.
        try {
          r((labels, value) => this.inc(labels, value));
        } catch {}
      }
    };
    metric = kind === 'gauge' ? new Gauge({ ...options, collect }) : new Counter({ ...options, collect });
    readers.set(metric, sources);
  }
  const sources = readers.get(metric);
  if (!sources) throw new TypeError(`${spec.name} is already registered and not read at scrape time`);
  const reader = read as Reader<string>;
  sources.readers.add(reader);
  return disposable(() => {
    if (!sources.readers.delete(reader) || !(metric instanceof Counter)) return;
    let last: ReturnType<typeof readAll>;
    try {
      last = readAll(reader);
    } catch {
      return; // nothing to keep from a source that cannot be read
    }
    for (const [key, { labels, value }] of last) {
      const entry = sources.retired.get(key);
      if (entry) entry.value += value;
      else sources.retired.set(key, { labels, value });
    }
  });
}
