/**
 * A fixed-bucket log-linear latency histogram: values in microseconds, 16 linear
 * sub-buckets per power of two, so any quantile is within ~6 % of the true value.
 * Recording is two integer operations and an increment: no sorting, no allocation.
 */
const SUB_BITS = 4;
const SUB = 1 << SUB_BITS; // 16
/** Covers up to 2^31 µs (~36 minutes); longer values land in the last bucket. */
export const HISTOGRAM_BUCKETS = (31 - SUB_BITS + 1) * SUB + SUB;

export function bucketOf(micros: number): number {
  const v = micros <= 0 ? 0 : Math.min(Math.floor(micros), 0x7fffffff);
  if (v < SUB) return v;
  const exp = 31 - Math.clz32(v); // ≥ SUB_BITS
  const sub = (v >>> (exp - SUB_BITS)) & (SUB - 1);
  return (exp - SUB_BITS + 1) * SUB + sub;
}

/** [low, high) bounds of a bucket in microseconds. */
export function bucketBounds(index: number): [number, number] {
  if (index < SUB) return [index, index + 1];
  const exp = Math.floor(index / SUB) - 1 + SUB_BITS;
  const sub = index % SUB;
  const width = 2 ** (exp - SUB_BITS);
  const low = 2 ** exp + sub * width;
  return [low, low + width];
}

export class Histogram {
  readonly counts = new Uint32Array(HISTOGRAM_BUCKETS);
  total = 0;

  recordMs(ms: number): void {
    this.counts[bucketOf(ms * 1000)]!++;
    this.total++;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }

  add(other: Histogram): void {
    if (other.total === 0) return;
    const a = this.counts;
    const b = other.counts;
    for (let i = 0; i < a.length; i++) a[i]! += b[i]!;
    this.total += other.total;
  }

  /** Quantiles (q in 0..1, ascending) in ms, each the midpoint of its bucket; 0 when empty. */
  quantilesMs(qs: readonly number[]): number[] {
    const out = qs.map(() => 0);
    if (this.total === 0) return out;
    let seen = 0;
    let k = 0;
    for (let i = 0; i < this.counts.length && k < qs.length; i++) {
      seen += this.counts[i]!;
      while (k < qs.length && seen >= Math.ceil(qs[k]! * this.total) && seen > 0) {
        const [lo, hi] = bucketBounds(i);
        out[k++] = (lo + hi) / 2 / 1000;
      }
    }
    return out;
  }
}
