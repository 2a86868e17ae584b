import { NEVER_ABORTED } from '../core/context.js';

export interface ChildSignal {
  readonly signal: AbortSignal;
  abort(reason: unknown): void;
  /** Stops following the parent; call once the child's work has settled. */
  dispose(): void;
}

/**
 * A signal that aborts with its parent or on demand. Hand-rolled rather than
 * AbortSignal.any: on Node 20 `any` costs tens of microseconds per call and keeps its
 * sources' references until garbage collection, while one listener is cheap and removed
 * as soon as the work settles.
 */
export function childSignal(parent: AbortSignal): ChildSignal {
  const controller = new AbortController();
  if (parent === NEVER_ABORTED) {
    return { signal: controller.signal, abort: (r) => controller.abort(r), dispose() {} };
  }
  if (parent.aborted) controller.abort(parent.reason);
  const follow = () => controller.abort(parent.reason);
  parent.addEventListener('abort', follow, { once: true });
  return {
    signal: controller.signal,
    abort: (r) => controller.abort(r),
    dispose: () => parent.removeEventListener('abort', follow),
  };
}
