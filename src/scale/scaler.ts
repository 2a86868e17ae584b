/** Hints a scaler may use when it scales in. */
export interface ScaleOptions {
  /**
   * Registry instance ids in the order the autoscaler would remove them (idle and
   * unready first). A scaler that cannot target instances ignores it.
   */
  prefer?: readonly string[];
}

/** Starts and stops instances of one service: a local process pool, a Kubernetes Deployment… */
export interface Scaler {
  /** The replica count asked for (like a Deployment's spec.replicas), not how many are ready. */
  replicas(): Promise<number>;
  /** Asks for `n` replicas; resolves once the change is under way, not when it is done. */
  scaleTo(n: number, options?: ScaleOptions): Promise<void>;
}
