import { LatencyRecorder, type LatencySummary } from './stats.js';

export interface ClosedLoopOptions {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export interface ClosedLoopResult {
  /** Calls completed inside the measured window. */
  requests: number;
  /** Length of the measured window in seconds. */
  seconds: number;
  requestsPerSecond: number;
  latencyMs: LatencySummary;
  errors: number;
  /** CPU time (user + system) this client process spent in the measured window, in ms. */
  clientCpuMs: number;
}

/**
 * Closed loop: `concurrency` workers each send a call, wait for its reply and send the next,
 * so the number of calls in flight is constant and throughput is what the system sustains.
 * A call that starts in warm-up is not recorded; the window closes at a fixed time and calls
 * that finish after it are not counted, so every system is measured over the same interval.
 */
export async function runClosedLoop(
  call: () => Promise<unknown>,
  options: ClosedLoopOptions,
  /** Told when the measured window opens and closes (the server's CPU is sampled then). */
  onWindow: (edge: 'start' | 'end') => void = () => {},
): Promise<ClosedLoopResult> {
  const recorder = new LatencyRecorder();
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const stopAt = measureFrom + options.durationMs;
  let errors = 0;
  let firstError: unknown;
  let cpuAtStart = process.cpuUsage();
  let cpuInWindow: NodeJS.CpuUsage | undefined;
  const open = () => {
    cpuAtStart = process.cpuUsage();
    onWindow('start');
  };
  const close = () => {
    cpuInWindow ??= process.cpuUsage(cpuAtStart);
    onWindow('end');
  };
  const opening = setTimeout(open, options.warmupMs);
  const closing = setTimeout(close, options.warmupMs + options.durationMs);

  const worker = async (): Promise<void> => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= stopAt) return;
      try {
        await call();
      } catch (err) {
        errors++;
        firstError ??= err;
        if (errors > 100) throw firstError;
        continue;
      }
      const t1 = performance.now();
      if (t0 >= measureFrom && t1 <= stopAt) recorder.record(t1 - t0);
    }
  };

  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    clearTimeout(opening);
    clearTimeout(closing);
  }
  // The last worker can stop a hair before the closing timer fires.
  if (!cpuInWindow) close();
  const seconds = options.durationMs / 1000;
  return {
    requests: recorder.count,
    seconds,
    requestsPerSecond: recorder.count / seconds,
    latencyMs: recorder.summary(),
    errors,
    clientCpuMs: (cpuInWindow!.user + cpuInWindow!.system) / 1000,
  };
}
