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

const readers = new WeakMap<object, Set<Reader<string>>>();

/**
 * A metric whose values are read from their sources at scrape time (sizes, replica counts,
 * totals kept elsewhere) rather than pushed on every change. Several readers may share one
 * metric, their values summed per label set; a disposed reader's series vanish on the next scrape.
 */
export function pulled<L extends string>(
  registry: Registry,
  kind: 'gauge' | 'counter',
  spec: Spec<L>,
  read: Reader<L>,
): Disposable {
  let metric = registry.getSingleMetric(spec.name);
  if (!metric) {
    const set = new Set<Reader<string>>();
    const options = { ...spec, labelNames: [...spec.labelNames], registers: [registry] };
    // Counters have no set(): after a reset, inc() reports each source's current value
    // (summed when several sources report the same labels).
    const collect = function (this: Gauge<string> | Counter<string>) {
      this.reset();
      for (const r of set) {
        // A source that throws loses its series for this scrape; the rest of the scrape stands.
        try {
          r((labels, value) => this.inc(labels, value));
        } catch {}
      }
    };
    metric = kind === 'gauge' ? new Gauge({ ...options, collect }) : new Counter({ ...options, collect });
    readers.set(metric, set);
  }
  const set = readers.get(metric);
  if (!set) throw new TypeError(`${spec.name} is already registered and not read at scrape time`);
  set.add(read as Reader<string>);
  return disposable(() => set.delete(read as Reader<string>));
}
