/** A subscription that can be ended, usable with `using`. */
export interface Disposable {
  dispose(): void;
  [Symbol.dispose](): void;
}

export function disposable(dispose: () => void): Disposable {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    dispose();
  };
  return { dispose: once, [Symbol.dispose]: once };
}

export type Listener<T> = (event: T) => void;
/** Subscribe to an event stream; the returned Disposable unsubscribes. */
export type Event<T> = (listener: Listener<T>) => Disposable;

export interface Emitter<T> {
  readonly event: Event<T>;
  emit(value: T): void;
  readonly size: number;
}

/** A tiny synchronous event source; a throwing listener never breaks the emitter. */
export function createEmitter<T>(): Emitter<T> {
  const listeners = new Set<Listener<T>>();
  return {
    event(listener) {
      listeners.add(listener);
      return disposable(() => listeners.delete(listener));
    },
    emit(value) {
      for (const listener of listeners) {
        try {
          listener(value);
        } catch (err) {
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    },
    get size() {
      return listeners.size;
    },
  };
}
