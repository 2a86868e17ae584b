/**
 * Runs one registration's writes one at a time, in call order: a later status can never be
 * overtaken by an earlier one, and a DELETE never by a re-registration already in flight.
 * A failed write does not stop the ones queued after it.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(op);
    this.#tail = result.catch(() => {});
    return result;
  }

  /** Settles once every write queued so far has settled; never rejects. */
  idle(): Promise<unknown> {
    return this.#tail;
  }
}

/**
 * Wraps an operation that must succeed once (a deregistration): concurrent callers share the
 * attempt in flight, a success is final, and a failure is forgotten so a later call tries again.
 */
export function untilDone(op: () => Promise<void>): () => Promise<void> {
  let attempt: Promise<void> | undefined;
  return () => {
    attempt ??= op().catch((err: unknown) => {
      attempt = undefined;
      throw err;
    });
    return attempt;
  };
}
