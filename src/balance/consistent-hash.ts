import type { Endpoint } from '../client/endpoint-types.js';
import type { CallContext } from '../core/context.js';
import { isAvoided } from './avoid.js';
import type { Balancer } from './balancer.js';
import { hash32 } from './hash.js';
import { random } from './random.js';
import { baseWeight } from './slow-start.js';
import { memoBySet } from './snapshot.js';

export interface ConsistentHashOptions {
  /** The affinity key of a call; default ctx.hashKey, then ctx.metadata[metadataKey]. */
  key?: (ctx: CallContext) => string | undefined;
  /** Metadata field read when the call has no hashKey. */
  metadataKey?: string;
  /** Ring points per unit of instance weight. Default 160 (ketama). */
  virtualNodes?: number;
  /**
   * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam): an endpoint takes
   * a call only while its in-flight count stays within c × the average (scaled by weight);
   * otherwise the key moves clockwise to the next endpoint. Must be > 1; 1.25 is typical.
   */
  boundedLoad?: number;
  /** Picks for calls without a key. Default random(). */
  fallback?: Balancer;
}

/** Low bits of a packed ring entry hold the owner's rank; 2^21 endpoints is plenty. */
const RANK_BITS = 2 ** 21;

/**
 * Ketama-style consistent hashing: each endpoint owns `virtualNodes × weight` points on a
 * 32-bit ring and a key goes to the first point at or after its hash (binary search,
 * O(log n)). When one of N endpoints joins or leaves, only about 1/N of the keys move.
 * Points hash the instance id, and ties between equal points go to the lower id, so every
 * client builds the same ring whatever the order of its endpoint list.
 */
export function consistentHash(options: ConsistentHashOptions = {}): Balancer {
  const virtualNodes = options.virtualNodes ?? 160;
  const bound = options.boundedLoad;
  const metadataKey = options.metadataKey;
  const keyOf =
    options.key ??
    ((ctx: CallContext) =>
      ctx.hashKey ?? (metadataKey === undefined ? undefined : ctx.metadata[metadataKey]));
  const fallback = options.fallback ?? random();
  if (!(virtualNodes >= 1)) throw new RangeError('consistentHash: virtualNodes must be >= 1');
  if (bound !== undefined && !(bound > 1)) throw new RangeError('consistentHash: boundedLoad must be > 1');
  const ring = memoBySet((endpoints) => new Ring(endpoints, virtualNodes));

  return {
    name: bound === undefined ? 'consistent-hash' : 'consistent-hash-bounded',
    pick(endpoints, ctx) {
      const n = endpoints.length;
      if (n === 0) return undefined;
      const key = keyOf(ctx);
      if (key === undefined) return fallback.pick(endpoints, ctx);
      if (n === 1) return endpoints[0];
      const r = ring(endpoints);
      const start = r.locate(hash32(key));
      const owner = endpoints[r.owners[start]!]!;
      if (bound === undefined || owner.load.inflight === 0) {
        // Idle endpoints are always within any bound, so the common case skips the load sum.
        if (!isAvoided(owner, ctx)) return owner;
      }
      return r.walk(endpoints, start, ctx, bound) ?? owner;
    },
  };
}

class Ring {
  /** Sorted point hashes. */
  readonly points: Uint32Array;
  /** Index into the endpoint list owning each point. */
  readonly owners: Uint32Array;
  private readonly weights: Float64Array;
  private readonly totalWeight: number;

  constructor(endpoints: readonly Endpoint[], virtualNodes: number) {
    const n = endpoints.length;
    const byId = endpoints.map((_, i) => i).sort((a, b) => compareIds(endpoints[a]!, endpoints[b]!));
    this.weights = Float64Array.from(endpoints, baseWeight);
    let total = this.weights.reduce((s, w) => s + w, 0);
    if (total === 0) {
      this.weights.fill(1);
      total = n;
    }
    this.totalWeight = total;
    const counts = Array.from(this.weights, (w) => (w > 0 ? Math.max(1, Math.round(virtualNodes * w)) : 0));
    // Packing hash and rank into one double lets the native numeric sort do the work.
    const packed = new Float64Array(counts.reduce((s, c) => s + c, 0));
    let k = 0;
    for (let rank = 0; rank < n; rank++) {
      const i = byId[rank]!;
      const id = endpoints[i]!.instance.id;
      for (let v = 0; v < counts[i]!; v++) packed[k++] = hash32(`${id}#${v}`) * RANK_BITS + rank;
    }
    packed.sort();
    this.points = new Uint32Array(packed.length);
    this.owners = new Uint32Array(packed.length);
    for (let j = 0; j < packed.length; j++) {
      const p = packed[j]!;
      const rank = p % RANK_BITS;
      this.points[j] = (p - rank) / RANK_BITS;
      this.owners[j] = byId[rank]!;
    }
  }

  /** First point at or after `hash`, wrapping to the start. */
  locate(hash: number): number {
    const points = this.points;
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === points.length ? 0 : lo;
  }

  /** Clockwise from `start`, the first endpoint not avoided and, when bounded, under capacity. */
  walk(
    endpoints: readonly Endpoint[],
    start: number,
    ctx: CallContext,
    bound: number | undefined,
  ): Endpoint | undefined {
    let capacityPerWeight = Number.POSITIVE_INFINITY;
    if (bound !== undefined) {
      let inflight = 0;
      for (const e of endpoints) inflight += e.load.inflight;
      // Counting the call being placed keeps the bound satisfiable: total capacity > inflight.
      capacityPerWeight = (bound * (inflight + 1)) / this.totalWeight;
    }
    const { owners, weights } = this;
    const len = owners.length;
    for (let j = 0; j < len; j++) {
      const i = owners[start + j < len ? start + j : start + j - len]!;
      const e = endpoints[i]!;
      if (e.load.inflight + 1 <= Math.ceil(capacityPerWeight * weights[i]!) && !isAvoided(e, ctx)) return e;
    }
    // Everything avoided or full: honour the bound alone, then nothing.
    return ctx.avoid === undefined
      ? undefined
      : this.walk(endpoints, start, { ...ctx, avoid: undefined }, bound);
  }
}

function compareIds(a: Endpoint, b: Endpoint): number {
  const x = a.instance.id;
  const y = b.instance.id;
  return x < y ? -1 : x > y ? 1 : 0;
}
