import { type ChildProcess, spawn } from 'node:child_process';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineService, type, unary } from '../contract/define.js';
import { embeddedRegistry } from '../registry/embedded/client.js';
import { type RunningRegistry, startRegistry } from '../registry/embedded/server.js';
import type { Registry } from '../registry/registry.js';
import { createServer, type Server } from '../server/server.js';
import { Greeter } from '../test/greeter.js';

const bin = fileURLToPath(new URL('../../bin/tensile.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process, with a hard time bound. */
function tensile(args: string[], timeoutMs = 15_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tensile ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs the CLI and sends it SIGINT once `started` resolves (the command is waiting on the
 * network by then, with its signal handlers in place).
 */
async function interrupted(args: string[], started: Promise<unknown>): Promise<Run> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await Promise.race([started, exited]);
    child.kill('SIGINT');
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`SIGINT ignored; stderr: ${stderr}`)), 10_000).unref(),
    );
    return { code: await Promise.race([exited, timeout]), stdout, stderr };
  } finally {
    child.kill('SIGKILL');
  }
}

let registry: RunningRegistry;
let client: Registry;
let server: Server;

beforeAll(async () => {
  registry = await startRegistry({ port: 0 });
  client = embeddedRegistry({ url: registry.url });
  server = createServer().implement(Greeter, {
    sayHello: async ({ name }) => ({ message: `hello ${name}` }),
    echo: async (x) => x,
    sleep: async () => ({ aborted: false }),
    fail: async () => {
      throw new Error('boom');
    },
  });
  await server.listen({ register: { registry: client, zone: 'eu-1' } });
});

afterAll(async () => {
  await server?.close({ graceMs: 100 });
  await client?.close();
  await registry?.close();
});

describe('tensile CLI', () => {
  it('prints help and exits 0; no command exits 2', async () => {
    const help = await tensile(['--help']);
    expect(help.code).toBe(0);
    for (const cmd of ['registry', 'ls', 'call', 'bench']) expect(help.stdout).toContain(cmd);
    expect((await tensile([])).code).toBe(2);
    const sub = await tensile(['call', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('--address');
  });

  it('rejects bad arguments with exit 2 and a clear message', async () => {
    const unknown = await tensile(['frobnicate']);
    expect([unknown.code, unknown.stderr]).toEqual([
      2,
      expect.stringContaining('unknown command "frobnicate"'),
    ]);
    const flag = await tensile(['call', 'greeter.echo', '--bogus']);
    expect([flag.code, flag.stderr]).toEqual([2, expect.stringContaining("Unknown option '--bogus'")]);
    const json = await tensile(['call', 'greeter.echo', '{nope', '--address', server.address!]);
    expect([json.code, json.stderr]).toEqual([2, expect.stringContaining('not valid JSON')]);
    const dur = await tensile([
      'call',
      'greeter.echo',
      '1',
      '--timeout',
      'soon',
      '--address',
      server.address!,
    ]);
    expect([dur.code, dur.stderr]).toEqual([2, expect.stringContaining('--timeout must be a duration')]);
    const reg = await tensile(['ls', '--registry', 'ftp://x']);
    expect([reg.code, reg.stderr]).toEqual([2, expect.stringContaining('unsupported registry URL')]);
  });

  it('rejects a bad --address and a lease shorter than its renewal in one line, exit 2', async () => {
    for (const address of ['nonsense', 'host:port', '127.0.0.1:0', '[::1]']) {
      const bad = await tensile(['call', 'a.b', '--address', address]);
      expect([bad.code, bad.stderr]).toEqual([
        2,
        `tensile: --address must be host:port or [ipv6]:port, got ${JSON.stringify(address)}\n`,
      ]);
    }
    const bench = await tensile(['bench', 'a.b', '--address', 'nonsense', '--duration', '100ms']);
    expect([bench.code, bench.stderr]).toEqual([2, expect.stringContaining('--address must be host:port')]);
    const zero = await tensile(['registry', '--renew', '0', '--lease-ttl', '0']);
    expect([zero.code, zero.stderr]).toEqual([2, 'tensile: registry: --renew must be above 0\n']);
    const short = await tensile(['registry', '--renew', '10s', '--lease-ttl', '5s']);
    expect([short.code, short.stderr]).toEqual([
      2,
      'tensile: registry: --renew (10s) must be shorter than --lease-ttl (5s)\n',
    ]);
  });

  it('rejects extra arguments to bench like call does', async () => {
    const args = ['bench', 'greeter.echo', '1', 'stray', '--duration', '100ms', '--address', server.address!];
    const extra = await tensile(args);
    expect([extra.code, extra.stderr]).toEqual([2, 'tensile: bench: unexpected argument "stray"\n']);
  });

  it('reports an unreachable registry and a busy port in one line, exit 1', async () => {
    const down = 'http://127.0.0.1:1'; // nothing listens on port 1
    const oneLine = (r: Run) => [r.code, r.stderr.trim().split('\n').length, r.stderr.includes('    at ')];
    const ls = await tensile(['ls', 'greeter', '--registry', down]);
    expect(ls.stderr).toContain(`cannot reach registry ${down}`);
    expect(oneLine(ls)).toEqual([1, 1, false]);
    const call = await tensile(['call', 'greeter.echo', '1', '--registry', down, '--timeout', '5s']);
    expect(call.stderr).toContain(`cannot reach registry ${down}`);
    expect(oneLine(call)).toEqual([1, 1, false]);
    const busy = await tensile(['registry', '--port', new URL(registry.url).port]);
    expect(busy.stderr).toContain('the port is in use');
    expect(oneLine(busy)).toEqual([1, 1, false]);
  });

  it('call and ls stop on the first Ctrl-C while waiting on the network, exit 130', async () => {
    // A method that never answers, called with an hour's deadline.
    const Hang = defineService('hang', { wait: unary({ input: type<unknown>(), output: type<unknown>() }) });
    let called!: () => void;
    const calledP = new Promise<void>((resolve) => (called = resolve));
    const hang = createServer().implement(Hang, {
      wait: () => {
        called();
        return new Promise(() => {});
      },
    });
    await hang.listen();
    // A "registry" that accepts connections and never replies.
    const sockets = new Set<import('node:net').Socket>();
    let connected!: () => void;
    const connectedP = new Promise<void>((resolve) => (connected = resolve));
    const silent: TcpServer = createTcpServer((socket) => {
      sockets.add(socket);
      connected();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const call = await interrupted(
        ['call', 'hang.wait', '{}', '--address', hang.address!, '--timeout', '1h'],
        calledP,
      );
      expect([call.code, call.stderr]).toEqual([130, 'interrupted\n']);
      const port = (silent.address() as { port: number }).port;
      const ls = await interrupted(['ls', '--registry', `http://127.0.0.1:${port}`], connectedP);
      expect([ls.code, ls.stderr]).toEqual([130, 'interrupted\n']);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
      await hang.close({ graceMs: 100 });
    }
  });

  it('lists services and instances from the registry', async () => {
    const ls = await tensile(['ls', '--registry', registry.url]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/SERVICE\s+ID\s+ADDRESS\s+STATUS/);
    expect(ls.stdout).toContain(server.address!);
    expect(ls.stdout).toContain('eu-1');
    const json = await tensile(['ls', 'greeter', '--registry', registry.url, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject([
      { service: 'greeter', address: server.address, status: 'UP' },
    ]);
  });

  it('calls through the registry and directly, printing replies and errors with codes', async () => {
    const viaRegistry = await tensile([
      'call',
      'greeter.sayHello',
      '{"name":"cli"}',
      '--registry',
      registry.url,
    ]);
    expect(viaRegistry.code).toBe(0);
    expect(JSON.parse(viaRegistry.stdout)).toEqual({ message: 'hello cli' });
    const direct = await tensile([
      'call',
      'greeter/echo',
      '[1,2]',
      '--address',
      server.address!,
      '--codec',
      'msgpack',
    ]);
    expect(JSON.parse(direct.stdout)).toEqual([1, 2]);
    const invalid = await tensile(['call', 'greeter.sayHello', '{"name":""}', '--address', server.address!]);
    expect(invalid.code).toBe(10 + 3);
    expect(invalid.stderr).toMatch(/^INVALID_ARGUMENT: invalid input: name/);
    const missing = await tensile(['call', 'greeter.nope', '{}', '--address', server.address!]);
    expect([missing.code, missing.stderr]).toEqual([10 + 12, expect.stringContaining('UNIMPLEMENTED')]);
  });

  it('benchmarks a method and reports rate and latency', async () => {
    const run = await tensile([
      'bench',
      'greeter.echo',
      '{"x":1}',
      '--address',
      server.address!,
      '--duration',
      '300ms',
      '--concurrency',
      '4',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.calls).toBeGreaterThan(0);
    expect(result.errors).toEqual({});
    expect(result.latencyMs.p99).toBeGreaterThanOrEqual(result.latencyMs.p50);
  });

  it('runs the registry until SIGTERM', async () => {
    const child: ChildProcess = spawn(process.execPath, [bin, 'registry', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d) => {
          out += d;
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}`)));
        setTimeout(() => reject(new Error('no listen line')), 10_000);
      });
      const res = await fetch(`${url}/v1/services`);
      expect(res.status).toBe(200);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
