import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RpcError } from '../../core/errors.js';
import { REGISTRY_URL_ENV } from '../../scale/worker.js';
import type { ChaosCommand, ChaosReport, ChaosStats, Job } from './chaos-service.js';

const INSTANCE = fileURLToPath(new URL('./instance.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface ChaosInstance {
  readonly name: string;
  readonly id: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Ids of the calls this instance started, in order; read from its log, so also after SIGKILL. */
  executed(): string[];
  stats(): Promise<ChaosStats>;
  setFailing(on: boolean): Promise<void>;
  signal(sig: NodeJS.Signals): void;
}

/** Children of one test and their logs; `dispose` kills them all, stopped ones included. */
export class Fleet {
  readonly dir = mkdtempSync(join(tmpdir(), 'tensile-chaos-'));
  readonly instances: ChaosInstance[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly logs: string[] = [];

  constructor(private registryUrl: string) {}

  async start(name: string, env: Record<string, string> = {}): Promise<ChaosInstance> {
    const logPath = join(this.dir, `${name}.log`);
    const child = fork(INSTANCE, [], {
      execArgv: ['--import', TSX],
      env: { ...process.env, ...env, [REGISTRY_URL_ENV]: this.registryUrl, CHAOS_LOG: logPath },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`cannot start chaos instance ${name}`);
    this.children.push(child);
    this.logs.push(logPath);
    const id = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`instance ${name} not ready in 20 s`)), 20_000);
      child.on('message', (m: { tensile?: string; id?: string }) => {
        if (m?.tensile === 'ready' && m.id) {
          clearTimeout(timer);
          resolve(m.id);
        }
      });
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`instance ${name} exited (${code ?? sig}) before ready`));
      });
    });
    const request = <T extends ChaosReport['chaos']>(cmd: ChaosCommand, kind: T) =>
      new Promise<Extract<ChaosReport, { chaos: T }>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`instance ${name} did not answer ${kind}`)), 5_000);
        const onMessage = (m: ChaosReport) => {
          if (m?.chaos !== kind) return;
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(m as Extract<ChaosReport, { chaos: T }>);
        };
        child.on('message', onMessage);
        child.send(cmd);
      });
    const instance: ChaosInstance = {
      name,
      id,
      pid,
      child,
      executed: () => readLog(logPath),
      stats: async () => (await request({ chaos: 'stats' }, 'stats')).stats,
      setFailing: async (on) => {
        await request({ chaos: 'fail', on }, 'fail');
      },
      signal: (sig) => kill(child, sig),
    };
    this.instances.push(instance);
    return instance;
  }

  /** Every id started anywhere, with how many times. */
  executions(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const log of this.logs) for (const id of readLog(log)) counts.set(id, (counts.get(id) ?? 0) + 1);
    return counts;
  }

  async dispose(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        // A SIGSTOPped child takes SIGKILL too, but resume it first so nothing lingers stopped.
        kill(child, 'SIGCONT');
        kill(child, 'SIGKILL');
        await exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function readLog(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((line) => line !== '');
}

function kill(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.exitCode === null && child.signalCode === null) child.kill(sig);
}

export interface CallOutcome {
  id: string;
  method: 'work' | 'charge';
  by?: string;
  error?: RpcError;
}

type Caller = (method: 'work' | 'charge', job: Job) => Promise<{ by: string }>;

/**
 * Closed-loop load: `concurrency` callers, each sending its next call when the previous one
 * settled, with ids unique across the test. `nonIdempotentShare` of the callers use `charge`.
 */
export class Load {
  readonly outcomes: CallOutcome[] = [];
  private running = true;
  private readonly loops: Promise<void>[] = [];
  private seq = 0;

  constructor(
    call: Caller,
    options: { concurrency: number; chargeCallers?: number; prefix?: string; job?: Partial<Job> },
  ) {
    const prefix = options.prefix ?? 'c';
    for (let n = 0; n < options.concurrency; n++) {
      const method = n < (options.chargeCallers ?? 0) ? 'charge' : 'work';
      this.loops.push(
        (async () => {
          while (this.running) {
            const id = `${prefix}${method[0]}-${this.seq++}`;
            try {
              const { by } = await call(method, { ...options.job, id });
              this.outcomes.push({ id, method, by });
            } catch (err) {
              const error = err instanceof RpcError ? err : new RpcError('UNKNOWN', String(err));
              this.outcomes.push({ id, method, error });
              // A failing caller should not spin; real callers back off too.
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
          }
        })(),
      );
    }
  }

  get ok(): number {
    let n = 0;
    for (const o of this.outcomes) if (!o.error) n++;
    return n;
  }

  failures(method?: CallOutcome['method']): CallOutcome[] {
    return this.outcomes.filter((o) => o.error && (method === undefined || o.method === method));
  }

  /** Successful calls answered by `instanceId`. */
  servedBy(instanceId: string): number {
    let n = 0;
    for (const o of this.outcomes) if (o.by === instanceId) n++;
    return n;
  }

  /** Waits until `more` further calls have succeeded (bounded), as a measure of time under load. */
  async runFor(more: number, timeoutMs = 20_000): Promise<void> {
    const target = this.ok + more;
    await until(() => this.ok >= target, timeoutMs, `${more} more successful calls`);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

/** Bounded polling: resolves once `check` holds, rejects with `what` after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A compact view of failures for assertion messages. */
export function describeFailures(outcomes: readonly CallOutcome[]): string[] {
  return outcomes.map(
    (o) =>
      `${o.id} ${o.method} ${o.error?.code} mayHaveProcessed=${o.error?.mayHaveProcessed}: ${o.error?.message}`,
  );
}
