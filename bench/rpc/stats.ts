/**
 * Latency samples in milliseconds, kept exactly (a closed loop of a few seconds yields at most
 * a few million samples) and summarised by sorting once at the end.
 */
export class LatencyRecorder {
  private samples = new Float64Array(1 << 16);
  private n = 0;

  record(ms: number): void {
    if (this.n === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  summary(): LatencySummary {
    const sorted = this.samples.slice(0, this.n).sort();
    let sum = 0;
    for (const x of sorted) sum += x;
    return {
      count: this.n,
      mean: this.n === 0 ? 0 : sum / this.n,
      p50: quantile(sorted, 0.5),
      p90: quantile(sorted, 0.9),
      p99: quantile(sorted, 0.99),
      p999: quantile(sorted, 0.999),
      max: this.n === 0 ? 0 : sorted[this.n - 1]!,
    };
  }
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Nearest-rank quantile of an ascending array. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(q * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

/** Median of a few numbers (used across repeated runs). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
