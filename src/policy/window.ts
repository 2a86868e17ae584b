/**
 * A counter over a sliding time window, kept as `slices` buckets with a running total so
 * `add` and `sum` are O(1) amortised: the only work is clearing the buckets that expired.
 */
export class WindowedCounter {
  private readonly buckets: Float64Array;
  private readonly sliceMs: number;
  private total = 0;
  /** Index (in slices since epoch) of the newest bucket written. */
  private head = 0;

  constructor(
    windowMs: number,
    slices: number,
    private readonly now: () => number,
  ) {
    if (!(windowMs > 0) || !(slices >= 1)) throw new RangeError('window and slices must be positive');
    this.buckets = new Float64Array(slices);
    this.sliceMs = windowMs / slices;
    this.head = Math.floor(now() / this.sliceMs);
  }

  add(n = 1): void {
    this.advance();
    this.buckets[this.head % this.buckets.length]! += n;
    this.total += n;
  }

  /**
   * Adds to the bucket of time `at`, if that is still in the window; an add whose bucket
   * has expired is already out of the total. Lets a caller take back an earlier add.
   */
  addAt(n: number, at: number): void {
    this.advance();
    const slice = Math.floor(at / this.sliceMs);
    if (slice > this.head || this.head - slice >= this.buckets.length) return;
    this.buckets[slice % this.buckets.length]! += n;
    this.total += n;
  }

  sum(): number {
    this.advance();
    // Float sums drift; a tiny negative would read as "no budget".
    return this.total < 1e-9 ? 0 : this.total;
  }

  private advance(): void {
    const slice = Math.floor(this.now() / this.sliceMs);
    if (slice <= this.head) return;
    const n = this.buckets.length;
    const steps = Math.min(slice - this.head, n);
    for (let i = 1; i <= steps; i++) {
      const idx = (this.head + i) % n;
      this.total -= this.buckets[idx]!;
      this.buckets[idx] = 0;
    }
    this.head = slice;
  }
}
