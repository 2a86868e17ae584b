import { listenAbort, MAX_TIMER_MS, unlistenAbort } from '../core/context.js';
import { RpcError } from '../core/errors.js';
import { createEmitter, type Event } from '../core/events.js';
import type { Filter } from '../core/service.js';
import { rejection, type ShedEvent } from './classify.js';
import { abortError, type Clock, systemClock, type TimerHandle } from './clock.js';

export interface BulkheadOptions {
  /** Calls running at once. */
  maxConcurrent: number;
  /** Calls waiting for a slot; beyond it calls are rejected at once. Default 0. */
  maxQueue?: number;
  clock?: Clock;
}

export type BulkheadFilter = Filter & {
  readonly onShed: Event<ShedEvent>;
  readonly active: number;
  readonly queued: number;
};

/** A queued call; doubly linked so one that leaves is unlinked at once, wherever it is. */
interface Waiter {
  grant(): void;
  prev: Waiter | undefined;
  next: Waiter | undefined;
}

/**
 * Isolates a dependency: at most `maxConcurrent` calls run, `maxQueue` more wait in FIFO
 * order, the rest fail at once with RESOURCE_EXHAUSTED (never processed, so safe to retry
 * elsewhere). A waiter leaves the queue when its call is cancelled or its deadline passes.
 * The same Filter serves client and server.
 */
export function bulkhead(options: BulkheadOptions): BulkheadFilter {
  const { maxConcurrent } = options;
  const maxQueue = options.maxQueue ?? 0;
  const clock = options.clock ?? systemClock;
  if (!(Number.isInteger(maxConcurrent) && maxConcurrent >= 1))
    throw new RangeError('bulkhead: maxConcurrent must be an integer >= 1');
  if (!(Number.isInteger(maxQueue) && maxQueue >= 0))
    throw new RangeError('bulkhead: maxQueue must be an integer >= 0');
  const shed = createEmitter<ShedEvent>();
  let active = 0;
  let queued = 0;
  let head: Waiter | undefined;
  let tail: Waiter | undefined;

  const refuse = (method: string, reason: string) => {
    if (shed.size > 0) shed.emit({ method, policy: 'bulkhead', reason });
    return rejection('RESOURCE_EXHAUSTED', 'bulkhead', `bulkhead ${reason}`);
  };

  // Unlinked rather than marked gone: with every slot held, cancelled waiters would
  // otherwise pile up in the list without bound until a slot frees.
  const unlink = (w: Waiter) => {
    if (w.prev) w.prev.next = w.next;
    else head = w.next;
    if (w.next) w.next.prev = w.prev;
    else tail = w.prev;
    w.prev = w.next = undefined;
    queued--;
  };

  // Hands a freed slot straight to the oldest waiter, so a new arrival cannot jump the queue.
  const releaseSlot = () => {
    if (!head) {
      active--;
      return;
    }
    const w = head;
    unlink(w);
    w.grant();
  };

  const wait = (method: string, deadline: number, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const leave = (err: RpcError) => {
        unlink(waiter);
        if (timer !== undefined) clock.clearTimeout(timer);
        unlistenAbort(signal, onAbort);
        reject(err);
      };
      const onAbort = () => leave(abortError(signal));
      const waiter: Waiter = {
        prev: tail,
        next: undefined,
        grant() {
          if (timer !== undefined) clock.clearTimeout(timer);
          unlistenAbort(signal, onAbort);
          resolve();
        },
      };
      if (tail) tail.next = waiter;
      else head = waiter;
      tail = waiter;
      queued++;
      listenAbort(signal, onAbort);
      // Node fires a timer longer than MAX_TIMER_MS after 1 ms: wait without one instead.
      const ms = deadline - clock.now();
      if (ms <= MAX_TIMER_MS) {
        timer = clock.setTimeout(() => {
          if (shed.size > 0) shed.emit({ method, policy: 'bulkhead', reason: 'deadline in queue' });
          leave(
            new RpcError('DEADLINE_EXCEEDED', 'deadline passed waiting in the bulkhead queue', {
              mayHaveProcessed: false,
            }),
          );
        }, ms);
      }
    });

  const filter: Filter = async (req, ctx, next) => {
    if (active < maxConcurrent) active++;
    else if (queued >= maxQueue) throw refuse(ctx.method, 'full');
    else if (ctx.signal.aborted) throw abortError(ctx.signal);
    else await wait(ctx.method, ctx.deadline, ctx.signal); // the slot is handed over, active already counts it
    try {
      return await next(req, ctx);
    } finally {
      releaseSlot();
    }
  };
  // `linked` walks the list itself, so tests can see that no node outlives its waiter.
  const linked = () => {
    let n = 0;
    for (let w = head; w; w = w.next) n++;
    return n;
  };
  const out = Object.defineProperties(filter, {
    active: { get: () => active },
    queued: { get: () => queued },
    linked: { get: linked },
  });
  return Object.assign(out, { onShed: shed.event }) as BulkheadFilter;
}
