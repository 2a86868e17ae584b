import type { EndpointFilterFactory, EndpointLoad } from '../client/endpoint-types.js';
import { invoke } from '../core/service.js';

export interface TrackLoadOptions {
  /** Time constant of both latency averages. Default 10 s; createClient passes its balancer's loadDecayMs. */
  decayMs?: number;
  /** Millisecond clock; default performance.now(), the clock balancers read stamps with. */
  now?: () => number;
}

/**
 * The endpoint-level filter that keeps `endpoint.load` current for the balancers: calls in
 * flight, completions, peak EWMA of latency (all completions) and average latency of
 * successful calls. Install it innermost among the endpoint filters so inflight counts only
 * calls that really go to the instance.
 */
export function trackLoad(options: TrackLoadOptions = {}): EndpointFilterFactory {
  const decayMs = options.decayMs ?? 10_000;
  const now = options.now ?? (() => performance.now());
  if (!(decayMs > 0)) throw new RangeError('trackLoad: decayMs must be > 0');
  return (endpoint) => {
    const load = endpoint.load;
    const average = { stampMs: 0 };
    const done = (start: number, ok: boolean) => {
      load.inflight--;
      const end = now();
      recordLatency(load, end - start, end, ok, decayMs, average);
    };
    // A promise chain rather than async/await: this runs on every attempt.
    return (req, ctx, next) => {
      load.inflight++;
      const start = now();
      return invoke(next, req, ctx).then(
        (res) => {
          done(start, true);
          return res;
        },
        (err: unknown) => {
          done(start, false);
          throw err;
        },
      );
    };
  };
}

/**
 * Folds one completed call into `load`. Exported for clients that measure calls themselves.
 *
 * Peak EWMA: a sample above the current cost replaces it at once (a slowdown is believed
 * immediately); a lower one is blended in with weight 1 − e^(−Δt/τ), so recovery is gradual.
 * A failed or cancelled call only ever raises the cost and otherwise holds it where it is: its
 * latency says nothing about how fast the instance serves, and an instance failing fast must
 * not drift towards looking attractive.
 */
export function recordLatency(
  load: EndpointLoad,
  latencyMs: number,
  at: number,
  ok: boolean,
  decayMs = 10_000,
  average: { stampMs: number } = { stampMs: load.ewmaStampMs },
): void {
  const sample = Math.max(0, latencyMs);
  load.completed++;
  const cost = load.peakEwmaMs;
  if (sample > cost) load.peakEwmaMs = sample;
  else if (ok) load.peakEwmaMs = blend(cost, sample, at - load.ewmaStampMs, decayMs);
  load.ewmaStampMs = at;
  if (!ok) return;
  load.avgLatencyMs =
    load.avgLatencyMs === 0 ? sample : blend(load.avgLatencyMs, sample, at - average.stampMs, decayMs);
  average.stampMs = at;
}

function blend(current: number, sample: number, elapsedMs: number, decayMs: number): number {
  const w = Math.exp(-Math.max(0, elapsedMs) / decayMs);
  return current * w + sample * (1 - w);
}
