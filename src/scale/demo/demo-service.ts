import { defineService, type, unary } from '../../contract/define.js';
import type { CallContext } from '../../core/context.js';
import { RpcError } from '../../core/errors.js';

/** The elastic demo's service: I/O-bound work behind a fixed per-instance concurrency. */
export const DemoService = defineService('demo', {
  work: unary({
    input: type<{ ms?: number }>(),
    output: type<{ pid: number; queuedMs: number }>(),
    idempotent: true,
  }),
});

export interface DemoOptions {
  /** Calls served at once per instance; the rest wait in a FIFO queue. Default 8. */
  concurrency?: number;
  /** Work time per call when the caller names none; default 50 ms. */
  workMs?: number;
}

/**
 * Each instance does at most `concurrency` calls of `workMs` at once, so it has a fixed
 * capacity (concurrency / workMs calls per ms) that does not depend on the machine's
 * cores: more instances really add capacity, even on a small machine.
 */
export function demoHandlers(options: DemoOptions = {}) {
  const concurrency = options.concurrency ?? 8;
  const workMs = options.workMs ?? 50;
  let busy = 0;
  const queue: (() => void)[] = [];

  const acquire = (ctx: CallContext) =>
    new Promise<void>((resolve, reject) => {
      if (busy < concurrency) {
        busy++;
        return resolve();
      }
      const grant = () => {
        ctx.signal.removeEventListener('abort', abandon);
        resolve();
      };
      const abandon = () => {
        const i = queue.indexOf(grant);
        if (i >= 0) queue.splice(i, 1);
        reject(ctx.signal.reason ?? new RpcError('CANCELLED', 'cancelled while queued'));
      };
      ctx.signal.addEventListener('abort', abandon, { once: true });
      queue.push(grant);
    });
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else busy--;
  };

  return {
    async work({ ms }: { ms?: number }, ctx: CallContext) {
      const queuedAt = performance.now();
      await acquire(ctx);
      const queuedMs = performance.now() - queuedAt;
      try {
        await new Promise((resolve) => setTimeout(resolve, ms ?? workMs));
        return { pid: process.pid, queuedMs };
      } finally {
        release();
      }
    },
  };
}
