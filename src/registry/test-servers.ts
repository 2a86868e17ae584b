import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { splitAddress } from './instance.js';

/** A real etcd or ZooKeeper process on 127.0.0.1, for tests and benches. */
export interface TestServer {
  /** `127.0.0.1:port`: etcd's client endpoint or ZooKeeper's connection string. */
  readonly endpoint: string;
  /** Kills the process (like a crash) and removes its data dir. Idempotent. */
  stop(): Promise<void>;
  /** Kills the process and starts it again on the same port with the same data dir. */
  restart(): Promise<void>;
}

export interface ServerAvailability {
  readonly available: boolean;
  /** Why the suite is skipped, for `describe.skipIf(!available)`. */
  readonly reason: string;
}

function which(name: string, extra: string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...extra].filter(Boolean);
  return dirs.map((dir) => join(dir, name)).find((path) => existsSync(path));
}

export function findEtcd(): string | undefined {
  const env = process.env.TENSILE_ETCD_BIN;
  return env && existsSync(env) ? env : which('etcd', ['/usr/bin', '/usr/local/bin', '/usr/sbin']);
}

/** java plus a classpath: Debian's zookeeper.jar (its manifest lists its deps) or an Apache tarball. */
export function findZooKeeper(): { java: string; classpath: string } | undefined {
  const javaHome = process.env.JAVA_HOME;
  const java =
    (javaHome && existsSync(join(javaHome, 'bin/java')) ? join(javaHome, 'bin/java') : undefined) ??
    which('java', ['/usr/bin']);
  if (!java) return undefined;
  const home = process.env.ZOOKEEPER_HOME;
  if (home && existsSync(join(home, 'lib'))) return { java, classpath: join(home, 'lib', '*') };
  const jar = '/usr/share/java/zookeeper.jar';
  if (!existsSync(jar)) return undefined;
  // slf4j-simple at WARN keeps the output small but still says why a start failed.
  const logger = '/usr/share/java/slf4j-simple.jar';
  return { java, classpath: [jar, ...(existsSync(logger) ? [logger] : [])].join(':') };
}

function availability(name: string, found: boolean): ServerAvailability {
  if (found) return { available: true, reason: '' };
  const reason = `${name} not found: run scripts/services.sh install (Debian) to run these tests`;
  // In CI a missing server must fail loudly instead of silently skipping the suite.
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true, refusing to skip)`);
  console.warn(`skipping ${name} tests: ${reason}`);
  return { available: false, reason };
}

export const etcdAvailability = (): ServerAvailability => availability('etcd', findEtcd() !== undefined);
export const zookeeperAvailability = (): ServerAvailability =>
  availability('ZooKeeper (java + zookeeper.jar)', findZooKeeper() !== undefined);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

/**
 * Kills `pid` and removes its data dir when this Node process dies in any way, even
 * SIGKILL, which skips 'exit' hooks: the watchdog's stdin is a pipe from us and
 * reaches EOF when we die.
 */
function watchdog(pid: number, dataDir: string): ChildProcess {
  const script = `read _; kill -9 ${pid} 2>/dev/null; sleep 0.2; rm -rf '${dataDir}'`;
  const dog = spawn('sh', ['-c', script], { stdio: ['pipe', 'ignore', 'ignore'] });
  dog.unref();
  (dog.stdin as unknown as { unref?: () => void }).unref?.();
  return dog;
}

interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  ready: () => Promise<boolean>;
  startTimeoutMs?: number;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Runs a server process, restarting it on demand with the same arguments. */
async function supervise(spec: ProcessSpec, endpoint: string, dataDir: string): Promise<TestServer> {
  let child: ChildProcess | undefined;
  let dog: ChildProcess | undefined;
  let stopped = false;

  const start = async () => {
    let output = '';
    const proc = spawn(spec.command, spec.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: spec.env ?? process.env,
    });
    child = proc;
    track(proc);
    if (proc.pid !== undefined) dog = watchdog(proc.pid, dataDir);
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    let exited = false;
    proc.once('exit', () => {
      exited = true;
    });
    const deadline = Date.now() + (spec.startTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (exited) throw new Error(`${spec.name} exited during startup:\n${output}`);
      if (await spec.ready().catch(() => false)) return;
      await sleep(50);
    }
    proc.kill('SIGKILL');
    throw new Error(
      `${spec.name} not ready on ${endpoint} within ${spec.startTimeoutMs ?? 30_000} ms:\n${output}`,
    );
  };

  const kill = async () => {
    const proc = child;
    child = undefined;
    dog?.kill('SIGKILL');
    dog = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    endpoint,
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
    async restart() {
      if (stopped) throw new Error(`${spec.name} was stopped`);
      await kill();
      await start();
    },
  };
}

export async function startEtcd(): Promise<TestServer> {
  const bin = findEtcd();
  if (!bin) throw new Error('etcd binary not found (PATH, /usr/bin); run scripts/services.sh install');
  const [port, peerPort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'tensile-etcd-'));
  const client = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    ...['--name', 'tensile', '--data-dir', dataDir],
    ...['--listen-client-urls', client, '--advertise-client-urls', client],
    ...['--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer],
    ...['--initial-cluster', `tensile=${peer}`, '--initial-cluster-state', 'new'],
    ...['--logger', 'zap', '--log-outputs', 'stderr'],
    // A single member elects itself after one election timeout: keep restarts quick.
    ...['--heartbeat-interval', '50', '--election-timeout', '500'],
  ];
  const ready = async () => {
    const res = await fetch(`${client}/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok && ((await res.json()) as { health?: string }).health === 'true';
  };
  try {
    // etcd also reads ETCD_* variables, which would clash with these flags.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_')));
    return await supervise({ name: 'etcd', command: bin, args, env, ready }, `127.0.0.1:${port}`, dataDir);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/** Asks a ZooKeeper server a four-letter word and returns the reply. */
export function fourLetterWord(endpoint: string, word: string): Promise<string> {
  const { host, port } = splitAddress(endpoint);
  return new Promise((resolve, reject) => {
    let reply = '';
    const socket = connect({ host, port }, () => socket.end(word));
    socket.setTimeout(1000, () => socket.destroy(new Error('4lw timeout')));
    socket.on('data', (d) => {
      reply += d.toString();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(reply));
  });
}

export async function startZooKeeper(): Promise<TestServer> {
  const zk = findZooKeeper();
  if (!zk)
    throw new Error(
      'ZooKeeper not found (java + /usr/share/java/zookeeper.jar); run scripts/services.sh install',
    );
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'tensile-zk-'));
  const cfg = join(dataDir, 'zoo.cfg');
  // A short tick lets tests use sub-second session timeouts; min/max bound what clients may ask for.
  writeFileSync(
    cfg,
    [
      'tickTime=200',
      'minSessionTimeout=400',
      'maxSessionTimeout=60000',
      `dataDir=${join(dataDir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=srvr,ruok',
      'maxClientCnxns=0',
    ].join('\n'),
  );
  const args = [
    ...['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto'],
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    // fsync makes no difference to a throwaway test server, only to its speed.
    '-Dzookeeper.forceSync=no',
    // Restarting after a crash before the first snapshot must not refuse to start.
    '-Dzookeeper.snapshot.trust.empty=true',
    ...['-cp', zk.classpath, 'org.apache.zookeeper.server.ZooKeeperServerMain', cfg],
  ];
  const endpoint = `127.0.0.1:${port}`;
  const ready = async () => (await fourLetterWord(endpoint, 'srvr')).includes('Mode:');
  try {
    return await supervise({ name: 'ZooKeeper', command: zk.java, args, ready }, endpoint, dataDir);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/** A TCP relay in front of a server, to cut a client off without touching the server. */
export interface TcpProxy {
  readonly endpoint: string;
  /** Drops every relayed connection and refuses new ones, like a network partition. */
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { host, port } = splitAddress(target);
  const sockets = new Set<Socket>();
  let partitioned = false;
  const server = createServer((inbound) => {
    if (partitioned) return void inbound.destroy();
    const outbound = connect({ host, port });
    for (const [a, b] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as { port: number };
  return {
    endpoint: `127.0.0.1:${own}`,
    cut() {
      partitioned = true;
      for (const s of sockets) s.destroy();
    },
    heal() {
      partitioned = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
