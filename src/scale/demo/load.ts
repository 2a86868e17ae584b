import { performance } from 'node:perf_hooks';
import { createEmitter, type Event } from '../../core/events.js';
import { Histogram } from '../histogram.js';

/** One second (or tick) of client-side load figures. */
export interface LoadSample {
  /** Seconds since the generator started. */
  t: number;
  /** Offered rate during the tick, calls/s. */
  rate: number;
  ok: number;
  failed: number;
  /** Calls sent and not yet answered at the end of the tick. */
  inflight: number;
  p50Ms: number;
  p99Ms: number;
}

export interface LoadGeneratorOptions {
  /** One call; a rejection counts as failed. */
  call: () => Promise<unknown>;
  /** Offered rate in calls/s as a function of seconds since start; may change any time. */
  rate: (t: number) => number;
  /** Length of one sample; default 1 s. */
  sampleMs?: number;
}

export interface LoadGenerator {
  readonly onSample: Event<LoadSample>;
  readonly totals: { sent: number; ok: number; failed: number };
  readonly errors: readonly unknown[];
  /** Stops sending and waits for the calls in flight. */
  stop(): Promise<void>;
}

/**
 * An open-loop load generator: calls are sent on a schedule whatever the latency, as
 * real users do, so a saturated fleet shows up as rising latency and in-flight calls
 * instead of a silently lower rate (the trap of closed-loop benchmarks).
 */
export function openLoop(options: LoadGeneratorOptions): LoadGenerator {
  const sampleMs = options.sampleMs ?? 1_000;
  const samples = createEmitter<LoadSample>();
  const totals = { sent: 0, ok: 0, failed: 0 };
  const errors: unknown[] = [];
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  let window = { ok: 0, failed: 0, sent: 0, hist: new Histogram() };
  let credit = 0;
  let last = started;

  const fire = () => {
    totals.sent++;
    window.sent++;
    const t0 = performance.now();
    // Counted in the sample in which the call completes.
    const p = options.call().then(
      () => {
        totals.ok++;
        window.ok++;
        window.hist.recordMs(performance.now() - t0);
      },
      (err) => {
        totals.failed++;
        window.failed++;
        if (errors.length < 100) errors.push(err);
      },
    );
    const tracked = p.finally(() => pending.delete(tracked));
    pending.add(tracked);
  };

  // A 5 ms pacer with carried-over credit keeps the rate exact without a timer per call.
  // After a stall of this process (a starved CPU) it catches up on at most 100 ms of
  // calls: a burst of seconds' worth would measure the stall, not the fleet.
  const pacer = setInterval(() => {
    const now = performance.now();
    credit += (options.rate((now - started) / 1000) * Math.min(now - last, 100)) / 1000;
    last = now;
    for (; credit >= 1; credit--) fire();
  }, 5);
  const sampler = setInterval(() => {
    const w = window;
    window = { ok: 0, failed: 0, sent: 0, hist: new Histogram() };
    const [p50Ms = 0, p99Ms = 0] = w.hist.quantilesMs([0.5, 0.99]);
    samples.emit({
      t: Math.round((performance.now() - started) / 100) / 10,
      rate: (w.sent * 1000) / sampleMs,
      ok: w.ok,
      failed: w.failed,
      inflight: pending.size,
      p50Ms,
      p99Ms,
    });
  }, sampleMs);

  return {
    onSample: samples.event,
    totals,
    errors,
    async stop() {
      clearInterval(pacer);
      clearInterval(sampler);
      await Promise.all([...pending]);
    },
  };
}
