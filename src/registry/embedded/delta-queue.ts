import type { Change, Lease } from './store.js';

export interface DeltaQueueOptions {
  /** How long changes stay; default 180 s, as Eureka. */
  retentionMs?: number;
  /** Bound on the approximate bytes held; default 32 MiB. */
  maxBytes?: number;
}

/**
 * Recent changes for Eureka's delta fetch. Besides age, it is bounded in count (a few
 * changes per live lease) and in bytes, since each change holds its lease's Eureka body
 * (up to the body limit). A client whose delta missed changes finds its apps hash
 * disagreeing and fetches everything, as Eureka clients do, so trimming is always safe.
 */
export class DeltaQueue {
  private readonly changes: Change[] = [];
  private readonly sizes: number[] = [];
  private bytes = 0;
  private readonly retentionMs: number;
  private readonly maxBytes: number;
  /** Eureka bodies are shared by every change of a lease until it re-registers: sized once. */
  private readonly bodySizes = new WeakMap<object, number>();

  constructor(options: DeltaQueueOptions = {}) {
    this.retentionMs = options.retentionMs ?? 180_000;
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
  }

  /** Approximate bytes held. */
  get size(): number {
    return this.bytes;
  }

  push(change: Change, liveLeases: number): void {
    const size = this.sizeOf(change.lease);
    this.changes.push(change);
    this.sizes.push(size);
    this.bytes += size;
    // Trimming here only well past the bounds keeps a burst from splicing on every change.
    if (this.bytes > 2 * this.maxBytes || this.changes.length > 2 * this.maxCount(liveLeases))
      this.trim(change.at, liveLeases);
  }

  /** Drops what is too old or beyond the bounds; returns the rest, oldest first. */
  trim(now: number, liveLeases: number): readonly Change[] {
    const horizon = now - this.retentionMs;
    let drop = 0;
    while (drop < this.changes.length && this.changes[drop]!.at < horizon) drop++;
    drop = Math.max(drop, this.changes.length - this.maxCount(liveLeases));
    let bytes = this.bytes;
    for (let i = 0; i < drop; i++) bytes -= this.sizes[i]!;
    while (bytes > this.maxBytes && drop < this.changes.length) bytes -= this.sizes[drop++]!;
    if (drop > 0) {
      this.changes.splice(0, drop);
      this.sizes.splice(0, drop);
      this.bytes = bytes;
    }
    return this.changes;
  }

  private maxCount(liveLeases: number): number {
    return Math.max(1000, 4 * liveLeases);
  }

  private sizeOf(lease: Lease): number {
    const { id, address, metadata } = lease.instance;
    let size = 256 + id.length + address.length;
    for (const k in metadata) size += k.length + metadata[k]!.length;
    if (lease.eureka) {
      let body = this.bodySizes.get(lease.eureka);
      if (body === undefined) this.bodySizes.set(lease.eureka, (body = JSON.stringify(lease.eureka).length));
      size += body;
    }
    return size;
  }
}
