import { LatencyRecorder, type LatencySummary } from '../rpc/stats.js';

export interface QualityLoadOptions {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export interface QualityLoadResult {
  /** Calls that started after warm-up and finished inside the measured window. */
  calls: number;
  callsPerSecond: number;
  latencyMs: LatencySummary;
  /** Measured calls served by each instance (by the instance name in the reply). */
  byInstance: Record<string, number>;
  errors: number;
}

/**
 * Closed loop: `concurrency` workers each send a call, wait for the reply and send the next,
 * so calls in flight stay constant and a balancer that feeds a slow instance pays in both
 * latency and throughput. Only calls that start after warm-up and end inside the window count.
 */
export async function closedLoop(
  call: () => Promise<{ instance: string }>,
  options: QualityLoadOptions,
): Promise<QualityLoadResult> {
  const recorder = new LatencyRecorder();
  const byInstance: Record<string, number> = {};
  const measureFrom = performance.now() + options.warmupMs;
  const stopAt = measureFrom + options.durationMs;
  let errors = 0;
  let firstError: unknown;

  const worker = async (): Promise<void> => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= stopAt) return;
      let instance: string;
      try {
        ({ instance } = await call());
      } catch (err) {
        errors++;
        firstError ??= err;
        // Without retries every error is the balancer's or the fleet's; many means a broken run.
        if (errors > 100) throw firstError;
        continue;
      }
      const t1 = performance.now();
      if (t0 >= measureFrom && t1 <= stopAt) {
        recorder.record(t1 - t0);
        byInstance[instance] = (byInstance[instance] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return {
    calls: recorder.count,
    callsPerSecond: recorder.count / (options.durationMs / 1000),
    latencyMs: recorder.summary(),
    byInstance,
    errors,
  };
}
