import type { Event } from '../core/events.js';
import type { Scaler } from './scaler.js';

// The process pool's public shapes; the pool itself is in process-pool.ts.

export interface ProcessPoolOptions {
  /** Path or file URL of a service module that calls `runInstance()`. */
  module: string | URL;
  args?: readonly string[];
  /** Added to the parent's environment. */
  env?: Record<string, string>;
  /** Passed to children as TENSILE_REGISTRY_URL. */
  registryUrl?: string;
  /** Node.js flags; default `--import tsx` for TypeScript modules, none otherwise. */
  execArgv?: readonly string[];
  /** The Node.js binary children run; default the parent's (`process.execPath`). */
  execPath?: string;
  /**
   * A child that has not reported ready by then is told to drain (killed after stopTimeoutMs)
   * and counts as a crash; default 20 s.
   */
  startTimeoutMs?: number;
  /** A draining child still alive by then is killed; default 40 s (worker grace + margin). */
  stopTimeoutMs?: number;
  /**
   * Restart delay after consecutive crashes, doubling from initialMs up to maxMs; default
   * 250 ms … 10 s. It starts over once no child has crashed for 10 s after the last delay.
   */
  restartBackoff?: { initialMs?: number; maxMs?: number };
  /** Children's stdout; their stderr is always inherited so crashes are visible. Default 'inherit'. */
  stdout?: 'inherit' | 'ignore';
  /**
   * Warm spares: children kept started but unregistered, so a scale-out takes the time
   * of one registration instead of a process start (seconds with TypeScript). Each costs
   * an idle process's memory. Default 0.
   */
  spares?: number;
}

/** standby: a started spare, not registered. */
export type MemberState = 'starting' | 'standby' | 'ready' | 'draining';

export interface PoolMember {
  readonly pid: number;
  /** Registry instance id, once ready. */
  readonly id?: string;
  readonly address?: string;
  readonly state: MemberState;
  /** Spares do not count as replicas until activated. */
  readonly role: 'active' | 'spare';
  readonly startedAt: number;
}

export type PoolEvent =
  | { type: 'spawn' | 'ready' | 'drain'; pid: number; id?: string }
  | { type: 'exit' | 'crash'; pid: number; id?: string; code: number | null; signal: string | null }
  | { type: 'restart-delayed'; delayMs: number }
  /** A child could not even be started (EMFILE, ENOENT…); counts as a crash. */
  | { type: 'spawn-failed'; error: unknown };

export interface ProcessPool extends Scaler {
  readonly members: readonly PoolMember[];
  readonly onEvent: Event<PoolEvent>;
  /** Resolves once at least `n` members (default: the replica count) are ready; rejects on close. */
  whenReady(n?: number, timeoutMs?: number): Promise<void>;
  /** Drains every child and waits for all to exit. */
  close(): Promise<void>;
}
