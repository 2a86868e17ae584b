import { defineService, type, unary } from '../../src/contract/define.js';

/** The quality benchmark's service: one call of fixed simulated work; the reply names the instance. */
export const Work = defineService('balance-quality', {
  work: unary({ input: type<{ key: number }>(), output: type<{ instance: string }>() }),
});

/** Parent → server process. */
export type WorkerCommand =
  | { type: 'configure'; name: string; latencyMs: number; concurrency: number }
  | { type: 'stop' };
/** Server process → parent. */
export type WorkerEvent =
  | { type: 'ready'; port: number }
  | { type: 'configured'; name: string }
  | { type: 'error'; message: string };
