import { WindowedCounter } from './window.js';

/** Outcomes of recent calls as a breaker sees them. */
export interface OutcomeWindow {
  add(failure: boolean, slow: boolean): void;
  readonly calls: number;
  readonly failures: number;
  readonly slow: number;
  reset(): void;
}

/** The last `size` calls, whenever they happened (resilience4j's COUNT_BASED window). */
export function countWindow(size: number): OutcomeWindow {
  if (!(Number.isInteger(size) && size >= 1))
    throw new RangeError('breaker: window size must be an integer >= 1');
  const ring = new Uint8Array(size);
  let next = 0;
  let calls = 0;
  let failures = 0;
  let slow = 0;
  return {
    add(failure, isSlow) {
      if (calls === size) {
        const old = ring[next]!;
        failures -= old & 1;
        slow -= old >> 1;
      } else calls++;
      ring[next] = (failure ? 1 : 0) | (isSlow ? 2 : 0);
      next = (next + 1) % size;
      if (failure) failures++;
      if (isSlow) slow++;
    },
    get calls() {
      return calls;
    },
    get failures() {
      return failures;
    },
    get slow() {
      return slow;
    },
    reset() {
      ring.fill(0);
      next = calls = failures = slow = 0;
    },
  };
}

/** Calls of the last `ms` milliseconds, in ten slices (resilience4j's TIME_BASED window). */
export function timeWindow(ms: number, now: () => number): OutcomeWindow {
  const make = () =>
    [0, 1, 2].map(() => new WindowedCounter(ms, 10, now)) as [
      WindowedCounter,
      WindowedCounter,
      WindowedCounter,
    ];
  let [calls, failures, slow] = make();
  return {
    add(failure, isSlow) {
      calls.add(1);
      if (failure) failures.add(1);
      if (isSlow) slow.add(1);
    },
    get calls() {
      return calls.sum();
    },
    get failures() {
      return failures.sum();
    },
    get slow() {
      return slow.sum();
    },
    reset() {
      [calls, failures, slow] = make();
    },
  };
}
