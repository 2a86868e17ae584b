import type { Cluster, Endpoint } from '../../client/endpoint-types.js';
import { listenAbort, unlistenAbort, withContext } from '../../core/context.js';
import { RpcError } from '../../core/errors.js';
import { abortError } from '../clock.js';
import { type ChildSignal, childSignal } from '../signal.js';
import { callEndpoint, pickAndCall, pickOne } from './pick.js';

export interface ForkingOptions {
  /** Distinct endpoints called at once. Default 2. */
  forks?: number;
}

/**
 * Dubbo's forking: send an idempotent call to `forks` distinct endpoints at once; the first
 * success wins and the others are cancelled. It buys latency with load, so keep it for
 * critical reads. A non-idempotent call is sent once: running it twice is never acceptable.
 */
export function forking(options: ForkingOptions = {}): Cluster {
  const forks = options.forks ?? 2;
  if (!(Number.isInteger(forks) && forks >= 1))
    throw new RangeError('forking: forks must be an integer >= 1');
  return (directory) => {
    const single = pickAndCall(directory);
    return (req, ctx) => {
      if (!ctx.idempotent || forks === 1) return single(req, ctx);
      if (ctx.signal.aborted) return Promise.reject(abortError(ctx.signal));
      const chosen: Endpoint[] = [];
      const avoid = new Set(ctx.avoid);
      const routable = directory.routable().length;
      try {
        for (let i = 0; i < Math.min(forks, routable); i++) {
          const e = pickOne(directory, i === 0 ? ctx : withContext(ctx, { avoid }));
          if (chosen.includes(e)) break; // the balancer has nothing new to offer
          chosen.push(e);
          avoid.add(e.instance.id);
        }
      } catch (err) {
        return Promise.reject(err);
      }
      // Nothing routable: the single path fails with UNAVAILABLE (never processed) instead
      // of waiting on zero forks, which would never settle.
      if (chosen.length === 0) return single(req, ctx);
      return new Promise((resolve, reject) => {
        const controllers = chosen.map(() => childSignal(ctx.signal));
        let failed = 0;
        let done = false;
        const cancelOthers = (winner?: ChildSignal) => {
          done = true;
          unlistenAbort(ctx.signal, onAbort);
          for (const c of controllers) {
            if (c !== winner) c.abort(new RpcError('CANCELLED', 'another fork answered first'));
            c.dispose();
          }
        };
        const onAbort = () => {
          if (done) return;
          cancelOthers();
          reject(abortError(ctx.signal));
        };
        listenAbort(ctx.signal, onAbort);
        chosen.forEach((endpoint, i) => {
          const c = controllers[i]!;
          const forkCtx = withContext(ctx, { signal: c.signal, attempt: ctx.attempt + i });
          callEndpoint(endpoint, req, forkCtx).then(
            (res) => {
              if (done) return;
              cancelOthers(c);
              resolve(res);
            },
            (err) => {
              if (done || ++failed < chosen.length) return;
              cancelOthers();
              reject(err);
            },
          );
        });
      });
    };
  };
}
