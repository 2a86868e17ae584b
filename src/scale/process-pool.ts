import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createEmitter } from '../core/events.js';
import { crashBackoff } from './backoff.js';
import type { MemberState, PoolEvent, PoolMember, ProcessPool, ProcessPoolOptions } from './pool-api.js';
import type { ScaleOptions } from './scaler.js';
import { type PoolMessage, REGISTRY_URL_ENV, STANDBY_ENV } from './worker.js';

export type { MemberState, PoolEvent, PoolMember, ProcessPool, ProcessPoolOptions } from './pool-api.js';

interface Member extends PoolMember {
  id?: string;
  address?: string;
  state: MemberState;
  role: 'active' | 'spare';
  child: ChildProcess;
  timer?: NodeJS.Timeout;
  /** Given up on for not starting in time: its exit is a crash, already counted. */
  timedOut?: boolean;
  exited: Promise<void>;
}

/** Crash-free time after which the restart delay starts over. */
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
  const backoff = crashBackoff({
    initialMs: options.restartBackoff?.initialMs ?? 250,
    maxMs: options.restartBackoff?.maxMs ?? 10_000,
    stableMs: STABLE_MS,
  });
  const events = createEmitter<PoolEvent>();
  const members = new Map<number, Member>();
  const changed = createEmitter<void>();
  const spares = options.spares ?? 0;
  let desired = 0;
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
    member.timer = setTimeout(() => startTimedOut(member), startTimeoutMs);
  };

  /**
   * Not ready in time: a crash, but drained rather than killed, as in scale-in. Its ready
   * message may be in flight, and only the child can take back its registration (a killed
   * one would stay listed until its lease lapsed).
   */
  const startTimedOut = (member: Member) => {
    member.timedOut = true;
    crashed();
    drain(member);
    reconcile();
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
      crashed();
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
      crashed();
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
    member.timer = setTimeout(() => startTimedOut(member), startTimeoutMs);
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
      Object.assign(member, { state: 'ready', id: m.id, address: m.address });
      events.emit({ type: 'ready', pid, id: m.id });
      changed.emit();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(member.timer);
      members.delete(pid);
      const expected = member.state === 'draining' && !member.timedOut;
      events.emit({
        type: expected ? 'exit' : 'crash',
        pid,
        ...(member.id ? { id: member.id } : {}),
        code,
        signal,
      });
      changed.emit();
      // A start that timed out was counted when it was given up.
      if (!expected && !member.timedOut) crashed();
      reconcile();
    });
    events.emit({ type: 'spawn', pid });
    return true;
  };

  const crashed = () => {
    events.emit({ type: 'restart-delayed', delayMs: backoff.crash(Date.now()) });
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
    if (backoff.until > Date.now()) return retryLater();
    // After a failed start, stop: the rest would fail alike; retry after the backoff.
    for (let i = 0; i < missing; i++) if (!spawn('active')) return retryLater();
    for (let i = 0; i < wantSpares; i++) if (!spawn('spare')) return retryLater();
  };
  const retryLater = () => {
    clearTimeout(backoffTimer);
    backoffTimer = setTimeout(reconcile, Math.max(0, backoff.until - Date.now()));
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
      if (closing) return Promise.reject(new Error('process pool is closed'));
      return new Promise((resolve, reject) => {
        const settle = (error?: Error) => {
          clearTimeout(timer);
          sub.dispose();
          if (error) reject(error);
          else resolve();
        };
        const timer = setTimeout(
          () => settle(new Error(`process pool: ${n} ready members not reached in ${timeoutMs} ms`)),
          timeoutMs,
        );
        // Closing wakes the waiter too: nothing will become ready any more.
        const sub = changed.event(() => {
          if (enough()) settle();
          else if (closing) settle(new Error('process pool is closed'));
        });
      });
    },
    async close() {
      closing = true;
      desired = 0;
      clearTimeout(backoffTimer);
      for (const m of members.values()) if (m.state !== 'draining') drain(m);
      changed.emit();
      await Promise.all([...members.values()].map((m) => m.exited));
    },
  };
}

/** tsx's loader by absolute URL, so children find it whatever their working directory. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}
