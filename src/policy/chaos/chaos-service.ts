import { defineService, type, unary } from '../../contract/define.js';

/** A unit of work tagged with a caller-chosen unique id, so executions can be counted per call. */
export interface Job {
  id: string;
  /** Server-side work time; the instance's default when absent. */
  ms?: number;
  /** Ballast, to make queued requests cost memory. */
  pad?: string;
}

/**
 * The service the chaos instances serve. `work` is idempotent (retries and hedges may run it
 * twice); `charge` is not, so the framework must never run one call of it twice.
 */
export const ChaosService = defineService('chaos', {
  work: unary({ input: type<Job>(), output: type<{ by: string }>(), idempotent: true }),
  charge: unary({ input: type<Job>(), output: type<{ by: string }>() }),
});

/** Parent → instance over IPC. */
export type ChaosCommand = { chaos: 'fail'; on: boolean } | { chaos: 'stats' };

/** What an instance reports about itself; peaks are since start. */
export interface ChaosStats {
  executed: number;
  /** Handlers running at once, counted exactly. */
  handlersPeak: number;
  /** `server.inflight` (calls accepted on connections), sampled. */
  inflightPeak: number;
  /** Calls refused by the adaptive concurrency limit. */
  shed: number;
  limit: number | undefined;
  heapBaseline: number;
  heapPeak: number;
}

/** Instance → parent over IPC, besides the pool's `ready`. */
export type ChaosReport = { chaos: 'stats'; stats: ChaosStats } | { chaos: 'fail'; on: boolean };
