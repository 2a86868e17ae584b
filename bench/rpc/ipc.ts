import { type ChildProcess, fork } from 'node:child_process';
import { setPriority } from 'node:os';
import type { ClosedLoopOptions, ClosedLoopResult } from './load.js';
import type { SystemName } from './payload.js';

/** Parent → server process. */
export type ServerCommand = { type: 'stop' } | { type: 'cpu' };
/** Server process → parent. `cpu` answers the command of that name: CPU time used so far. */
export type ServerEvent =
  | { type: 'ready'; port: number }
  | { type: 'cpu'; cpuMs: number }
  | { type: 'error'; message: string };
/** Parent → load process. */
export type LoadCommand = { type: 'start'; system: SystemName; port: number } & ClosedLoopOptions;
/** Load process → parent. */
export type LoadEvent =
  | { type: 'window'; edge: 'start' | 'end' }
  | { type: 'result'; result: ClosedLoopResult }
  | { type: 'error'; message: string };

const live = new Set<ChildProcess>();
let hooked = false;

/** Kills every child still running; safe to call more than once. */
export function killAll(): void {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  live.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

export interface Child<Out> {
  readonly process: ChildProcess;
  /** Resolves with the first message matching `type`; rejects on an error message or early exit. */
  next<T extends Out>(accept: (message: Out) => message is T, timeoutMs: number): Promise<T>;
  /** Asks nicely (so --cpu-prof profiles get written), then kills after `graceMs`. */
  stop(command: unknown, graceMs?: number): Promise<void>;
}

/**
 * Forks a TypeScript entry point under tsx with an IPC channel. `execArgv` adds Node flags
 * (for example --cpu-prof) to this child only.
 */
export function forkTs<Out extends { type: string }>(
  script: string,
  execArgv: readonly string[] = [],
  priority?: number,
): Child<Out> {
  hookExit();
  const child = fork(script, [], {
    execArgv: ['--import', 'tsx', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  // On a shared machine a raised priority keeps other work from skewing the figures (needs root).
  if (priority !== undefined && child.pid !== undefined) setPriority(child.pid, priority);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => live.delete(child));
  return {
    process: child,
    next(accept, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`${script}: no reply in ${timeoutMs} ms`)), timeoutMs);
        const onMessage = (message: Out) => {
          if (message.type === 'error')
            done(new Error(`${script}: ${(message as { message?: string }).message}`));
          else if (accept(message)) done(undefined, message);
        };
        const onExit = (code: number | null, signal: string | null) =>
          done(new Error(`${script} exited early (code ${code}, signal ${signal})`));
        const done = (err: Error | undefined, message?: Out) => {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('exit', onExit);
          if (err) reject(err);
          else resolve(message as never);
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
      });
    },
    async stop(command, graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.send(command as never);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** In a child: the parent went away (crashed or killed), so this process must not linger. */
export function exitWithParent(): void {
  process.once('disconnect', () => process.exit(0));
}

export function send(message: ServerEvent | LoadEvent): Promise<void> {
  return new Promise((resolve, reject) =>
    process.send!(message, undefined, {}, (err) => (err ? reject(err) : resolve())),
  );
}

/**
 * The body of every server process: start, report the port, serve until told to stop, then
 * exit normally (a normal exit is what writes a --cpu-prof profile).
 */
export async function serveUntilStopped(
  start: () => Promise<{ port: number; close(): Promise<void> }>,
): Promise<void> {
  exitWithParent();
  try {
    const server = await start();
    process.on('message', async (message: ServerCommand) => {
      if (message.type === 'cpu') {
        const { user, system } = process.cpuUsage();
        await send({ type: 'cpu', cpuMs: (user + system) / 1000 });
        return;
      }
      await Promise.race([server.close(), new Promise((r) => setTimeout(r, 1_000))]);
      process.exit(0);
    });
    await send({ type: 'ready', port: server.port });
  } catch (err) {
    await send({ type: 'error', message: (err as Error).stack ?? String(err) });
    process.exit(1);
  }
}
