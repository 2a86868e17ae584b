export interface ReconnectBackoff {
  /** First delay after a failed connect (default 250 ms). */
  initialMs?: number;
  multiplier?: number;
  maxMs?: number;
  /** ± share of randomisation so a fleet of clients does not reconnect in lockstep (default 0.2). */
  jitter?: number;
}

/** gRPC-style connection backoff: initial × multiplier^n, capped, with ± jitter. */
export function reconnectDelays(options: ReconnectBackoff = {}, random = Math.random): () => number {
  const { initialMs = 250, multiplier = 1.6, maxMs = 10_000, jitter = 0.2 } = options;
  let current = initialMs;
  return () => {
    const delay = current * (1 + jitter * (random() * 2 - 1));
    current = Math.min(maxMs, current * multiplier);
    return Math.max(0, Math.round(delay));
  };
}
