import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createEmitter, type Event } from '../core/events.js';
import type { ScaleOptions, Scaler } from './scaler.js';
import { type PoolMessage, REGISTRY_URL_ENV, STANDBY_ENV } from './worker.js';

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
  /** A child that has not reported ready by then is killed and counts as a crash; default 20 s. */
  startTimeoutMs?: number;
  /** A draining child still alive by then is killed; default 40 s (worker grace + margin). */
  stopTimeoutMs?: number;
  /** Restart delay after consecutive crashes, doubling from initialMs up to maxMs; default 250 ms … 10 s. */
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
  /** Resolves once at least `n` members (default: the replica count) are ready. */
  whenReady(n?: number, timeoutMs?: number): Promise<void>;
  /** Drains every child and waits for all to exit. */
  close(): Promise<void>;
}

interface Member extends PoolMember {
  id?: string;
  address?: string;
  state: MemberState;
  role: 'active' | 'spare';
  readySince?: number;
  child: ChildProcess;
  timer?: NodeJS.Timeout;
  exited: Promise<void>;
}

/** A child that served this long before crashing resets the crash backoff. */
const STABLE_MS = 10_000;

/**
 * The local Scaler: one Node.js child process per replica. Children that die are
 * replaced with exponential backoff; scale-in drains chosen victims (starting ones first,
 * then the autoscaler's preference, then the newest), never killing a child with calls.
 */
export function processPool(options: ProcessPoolOptions): ProcessPool {
  const modulePath = options.module instanceof URL ? fileURLToPath(options.module) : options.module;
  const execArgv = options.execArgv ?? (/\.[mc]?ts$/.test(modulePath) ? ['--import', tsxLoader()] : []);
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 40_000;
  const initialBackoff = options.restartBackoff?.initialMs ?? 250;
  const maxBackoff = options.restartBackoff?.maxMs ?? 10_000;
  const events = createEmitter<PoolEvent>();
  const members = new Map<number, Member>();
  const changed = createEmitter<void>();
  const spares = options.spares ?? 0;
  let desired = 0;
  let crashes = 0;
  let backoffUntil = 0;
  let backoffTimer: NodeJS.Timeout | undefined;
  let closing = false;

  const live = (role: Member['role']) =>
    [...members.values()].filter((m) => m.state !== 'draining' && m.role === role);
  const active = () => live('active');

  const activate = (member: Member) => {
    member.role = 'active';
    if (member.state !== 'standby') return; // still booting: activated when it reports standby
    member.state = 'starting';
    member.child.send({ tensile: 'activate' });
    member.timer = setTimeout(() => member.child.kill('SIGKILL'), startTimeoutMs);
  };

  /** False when no process could be started: a crash is counted and the backoff applies. */
  const spawn = (role: Member['role']): boolean => {
    let child: ChildProcess;
    try {
      child = fork(modulePath, [...(options.args ?? [])], {
        execArgv: [...execArgv],
        ...(options.execPath ? { execPath: options.execPath } : {}),
        env: {
          ...process.env,
          ...options.env,
          ...(options.registryUrl ? { [REGISTRY_URL_ENV]: options.registryUrl } : {}),
          [STANDBY_ENV]: role === 'spare' ? '1' : '0',
        },
        stdio: ['ignore', options.stdout ?? 'inherit', 'inherit', 'ipc'],
      });
    } catch (error) {
      events.emit({ type: 'spawn-failed', error });
      crashed(undefined);
      return false;
    }
    // Before anything else: a failed spawn reports on 'error' next tick, and an unheard
    // 'error' would take the autoscaler's own process down.
    child.on('error', (error) => {
      if (child.pid === undefined) events.emit({ type: 'spawn-failed', error });
      else if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const pid = child.pid;
    if (pid === undefined) {
      crashed(undefined);
      return false;
    }
    const member: Member = {
      pid,
      state: 'starting',
      role,
      startedAt: Date.now(),
      child,
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    members.set(pid, member);
    member.timer = setTimeout(() => child.kill('SIGKILL'), startTimeoutMs);
    child.on('message', (m: PoolMessage) => {
      // Told to drain before its module installed a listener: say it again.
      if (member.state === 'draining' && (m?.tensile === 'ready' || m?.tensile === 'standby')) {
        if (child.connected) child.send({ tensile: 'drain' });
        return;
      }
      if (m?.tensile === 'standby' && member.state === 'starting') {
        clearTimeout(member.timer);
        member.state = 'standby';
        if (member.role === 'active') activate(member);
        return;
      }
      if (m?.tensile !== 'ready' || member.state !== 'starting') return;
      clearTimeout(member.timer);
      Object.assign(member, { state: 'ready', id: m.id, address: m.address, readySince: Date.now() });
      events.emit({ type: 'ready', pid, id: m.id });
      changed.emit();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(member.timer);
      members.delete(pid);
      const expected = member.state === 'draining';
      events.emit({
        type: expected ? 'exit' : 'crash',
        pid,
        ...(member.id ? { id: member.id } : {}),
        code,
        signal,
      });
      changed.emit();
      if (!expected) crashed(member);
      reconcile();
    });
    events.emit({ type: 'spawn', pid });
    return true;
  };

  const crashed = (member: Member | undefined) => {
    if (member?.readySince !== undefined && Date.now() - member.readySince >= STABLE_MS) crashes = 0;
    crashes++;
    const delayMs = Math.min(maxBackoff, initialBackoff * 2 ** (crashes - 1));
    backoffUntil = Date.now() + delayMs;
    events.emit({ type: 'restart-delayed', delayMs });
  };

  const drain = (member: Member) => {
    member.state = 'draining';
    clearTimeout(member.timer);
    events.emit({ type: 'drain', pid: member.pid, ...(member.id ? { id: member.id } : {}) });
    // Even a child still starting is told to drain rather than killed: it may be
    // registering, and only it can undo that before it exits.
    if (member.child.connected) member.child.send({ tensile: 'drain' });
    else member.child.kill('SIGTERM');
    member.timer = setTimeout(() => member.child.kill('SIGKILL'), stopTimeoutMs);
    changed.emit();
  };

  const victims = (count: number, prefer: readonly string[]): Member[] => {
    const live = active();
    const rank = new Map(prefer.map((id, i) => [id, i]));
    const score = (m: Member) => (m.state === 'starting' ? -1 : (rank.get(m.id ?? '') ?? prefer.length));
    return live.sort((a, b) => score(a) - score(b) || b.startedAt - a.startedAt).slice(0, count);
  };

  let lastPrefer: readonly string[] = [];
  const reconcile = () => {
    if (closing) return;
    const running = active();
    if (running.length > desired) {
      for (const m of victims(running.length - desired, lastPrefer)) drain(m);
    }
    let missing = desired - running.length;
    // Warm spares first (standby before still-booting ones): they are seconds ahead.
    const warm = live('spare').sort((a, b) => Number(b.state === 'standby') - Number(a.state === 'standby'));
    for (const spare of warm) {
      if (missing <= 0) break;
      activate(spare);
      missing--;
    }
    const wantSpares = spares - live('spare').length;
    if (missing <= 0 && wantSpares <= 0) return;
    if (backoffUntil > Date.now()) return retryLater();
    // After a failed start, stop: the rest would fail alike; retry after the backoff.
    for (let i = 0; i < missing; i++) if (!spawn('active')) return retryLater();
    for (let i = 0; i < wantSpares; i++) if (!spawn('spare')) return retryLater();
  };
  const retryLater = () => {
    clearTimeout(backoffTimer);
    backoffTimer = setTimeout(reconcile, Math.max(0, backoffUntil - Date.now()));
  };

  return {
    async replicas() {
      return desired;
    },
    async scaleTo(n, scaleOptions?: ScaleOptions) {
      if (!Number.isInteger(n) || n < 0)
        throw new RangeError(`replica count must be an integer >= 0, got ${n}`);
      if (closing) throw new Error('process pool is closed');
      desired = n;
      lastPrefer = scaleOptions?.prefer ?? [];
      reconcile();
    },
    get members() {
      return [...members.values()].map(({ pid, id, address, state, role, startedAt }) => ({
        pid,
        state,
        role,
        startedAt,
        ...(id ? { id } : {}),
        ...(address ? { address } : {}),
      }));
    },
    onEvent: events.event,
    whenReady(n = desired, timeoutMs = startTimeoutMs) {
      const enough = () => active().filter((m) => m.state === 'ready').length >= n;
      if (enough()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          sub.dispose();
          reject(new Error(`process pool: ${n} ready members not reached in ${timeoutMs} ms`));
        }, timeoutMs);
        const sub = changed.event(() => {
          if (!enough()) return;
          clearTimeout(timer);
          sub.dispose();
          resolve();
        });
      });
    },
    async close() {
      closing = true;
      desired = 0;
      clearTimeout(backoffTimer);
      for (const m of members.values()) if (m.state !== 'draining') drain(m);
      await Promise.all([...members.values()].map((m) => m.exited));
    },
  };
}

/** tsx's loader by absolute URL, so children find it whatever their working directory. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}
