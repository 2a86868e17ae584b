/**
 * Recent latencies and a percentile of them. The percentile is recomputed every
 * `size / 8` samples rather than per call: sorting a thousand numbers costs tens of
 * microseconds, which spread over a hundred calls is well under one each.
 */
export class LatencyTracker {
  private readonly ring: Float64Array;
  private readonly scratch: Float64Array;
  private count = 0;
  private next = 0;
  private sinceUpdate = 0;
  private cached = Number.NaN;
  private readonly every: number;

  constructor(
    size: number,
    private readonly quantile: number,
  ) {
    if (!(Number.isInteger(size) && size >= 1))
      throw new RangeError('latency window must be an integer >= 1');
    if (!(quantile > 0 && quantile <= 1)) throw new RangeError('percentile must be within (0, 1]');
    this.ring = new Float64Array(size);
    this.scratch = new Float64Array(size);
    this.every = Math.max(1, Math.floor(size / 8));
  }

  record(ms: number): void {
    this.ring[this.next] = ms;
    this.next = (this.next + 1) % this.ring.length;
    if (this.count < this.ring.length) this.count++;
    if (++this.sinceUpdate >= this.every) this.cached = Number.NaN;
  }

  get samples(): number {
    return this.count;
  }

  /** The tracked percentile (nearest rank); NaN with no samples. */
  value(): number {
    if (!Number.isNaN(this.cached) || this.count === 0) return this.cached;
    const view = this.scratch.subarray(0, this.count);
    view.set(this.ring.subarray(0, this.count));
    view.sort();
    this.cached = view[Math.min(this.count - 1, Math.ceil(this.quantile * this.count) - 1)]!;
    this.sinceUpdate = 0;
    return this.cached;
  }
}
