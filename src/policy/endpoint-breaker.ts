import type { EndpointFilterFactory } from '../client/endpoint-types.js';
import {
  type BreakerEvents,
  type BreakerOptions,
  CircuitBreaker,
  emitters,
  eventsOf,
  guard,
} from './breaker.js';
import { isFailure, rejection } from './classify.js';
import { systemClock, type TimerHandle, unref } from './clock.js';
import { eject, release } from './eject.js';

export type EndpointBreakerFactory = EndpointFilterFactory &
  BreakerEvents & {
    /** Cancels the endpoints' wake timers; breakers tripping later set none. */
    dispose(): void;
  };

/**
 * A breaker per endpoint. While open the endpoint is `ejected`, so balancers skip it; a
 * timer wakes it to half-open (`open` again) when the wait ends, since an ejected endpoint
 * receives no calls that could do it. Once every probe is out it is ejected again until
 * one settles: a balancer would keep picking it, and each of those calls would fail fast
 * here, unseen by load tracking. A timer re-trips it if the probes outlive the open wait.
 * Calls that still reach an open or saturated half-open breaker fail with UNAVAILABLE
 * naming the instance, so retry goes elsewhere.
 */
export function endpointBreaker(options: BreakerOptions = {}): EndpointBreakerFactory {
  const e = emitters();
  const clock = options.clock ?? systemClock;
  const classifier = options.isFailure ?? isFailure;
  // Cancels of the endpoints whose wake timer is armed, so dispose can stop them.
  const armed = new Set<() => void>();
  let disposed = false;
  const factory: EndpointFilterFactory = (endpoint) => {
    const id = endpoint.instance.id;
    const own = emitters();
    let wake: TimerHandle | undefined;
    const cancel = () => {
      if (wake !== undefined) clock.clearTimeout(wake);
      wake = undefined;
      armed.delete(cancel);
    };
    const wakeIn = (ms: number) => {
      cancel();
      if (disposed) return;
      wake = unref(
        clock.setTimeout(() => {
          wake = undefined;
          armed.delete(cancel);
          breaker.poll();
        }, ms),
      );
      armed.add(cancel);
    };
    own.probes = {
      full(timeoutMs) {
        eject(endpoint, 'breaker');
        // Always re-armed for the probe deadline: a wait timer still pending (due now, so
        // its work is done) would otherwise fire, find nothing to do, and leave hung probes
        // without a timer. The deadline is fixed, so re-arming never extends it.
        wakeIn(timeoutMs);
      },
      free: () => release(endpoint, 'breaker'),
    };
    const breaker = new CircuitBreaker(options, own, id);
    own.break.event((ev) => {
      eject(endpoint, 'breaker');
      wakeIn(ev.openMs);
      e.break.emit(ev);
    });
    own.halfOpen.event((ev) => {
      release(endpoint, 'breaker');
      e.halfOpen.emit(ev);
    });
    own.reset.event((ev) => {
      cancel();
      release(endpoint, 'breaker');
      e.reset.emit(ev);
    });
    return guard(breaker, classifier, () => {
      const err = rejection('UNAVAILABLE', 'breaker', `circuit open for instance ${id}`);
      err.instance = id;
      return err;
    });
  };
  const dispose = () => {
    disposed = true;
    for (const stop of [...armed]) stop();
  };
  return Object.assign(factory, eventsOf(e), { dispose });
}
