import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../client/client.js';
import { embeddedRegistry } from '../registry/embedded/client.js';
import { type RunningRegistry, startRegistry } from '../registry/embedded/server.js';
import type { Registry } from '../registry/registry.js';
import { DemoService } from './demo/demo-service.js';
import { type PoolEvent, type ProcessPool, processPool } from './process-pool.js';

// Real processes: an embedded registry, and children running the demo service module
// through `node --import tsx`, each registering itself.
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(spares = 0) {
  const server: RunningRegistry = await startRegistry({
    leaseTtlMs: 3_000,
    renewIntervalMs: 1_000,
    evictionIntervalMs: 200,
    selfPreservation: false,
    warmupMs: 0,
  });
  cleanup.push(() => server.close());
  const registry: Registry = embeddedRegistry({ url: server.url });
  cleanup.push(() => registry.close());
  const pool: ProcessPool = processPool({
    module: new URL('./demo/demo-worker.ts', import.meta.url),
    registryUrl: server.url,
    env: { DEMO_WORK_MS: '20', DEMO_DEREGISTER_DELAY_MS: '300' },
    stdout: 'ignore',
    restartBackoff: { initialMs: 50 },
    spares,
  });
  cleanup.push(() => pool.close());
  const events: PoolEvent[] = [];
  pool.onEvent((e) => events.push(e));
  return { server, registry, pool, events };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('process pool', () => {
  it('starts children that register, replaces a crashed one, and stops them all on close', async () => {
    const { registry, pool, events } = await setup();
    await pool.scaleTo(2);
    expect(await pool.replicas()).toBe(2);
    await pool.whenReady(2);
    const ids = pool.members.map((m) => m.id).sort();
    await expect.poll(async () => (await registry.instances('demo')).map((i) => i.id).sort()).toEqual(ids);

    const client = createClient(DemoService, { registry });
    cleanup.push(() => client.close());
    const pids = new Set<number>();
    for (let i = 0; i < 20; i++) pids.add((await client.work({})).pid);
    expect([...pids].sort()).toEqual(pool.members.map((m) => m.pid).sort());

    const victim = pool.members[0]!.pid;
    process.kill(victim, 'SIGKILL');
    await expect.poll(() => events.some((e) => e.type === 'crash' && e.pid === victim)).toBe(true);
    await expect
      .poll(() => pool.members.filter((m) => m.state === 'ready' && m.pid !== victim).length, {
        timeout: 15_000,
      })
      .toBe(2);

    const all = pool.members.map((m) => m.pid);
    await pool.close();
    expect(pool.members).toEqual([]);
    expect(all.filter(alive)).toEqual([]);
  });

  it('scales in by draining the preferred victim: it deregisters, finishes its calls, exits; no call fails', async () => {
    const { registry, pool, events } = await setup();
    await pool.scaleTo(3);
    await pool.whenReady(3);
    const client = createClient(DemoService, { registry });
    cleanup.push(() => client.close());
    // Every endpoint connected first: calls still queued on a connection being dialled
    // when the registry drops its instance fail in the client ("endpoint removed").
    const seen = new Set<number>();
    await expect.poll(async () => seen.add((await client.work({ ms: 1 })).pid).size).toBe(3);

    let stop = false;
    let ok = 0;
    const failures: unknown[] = [];
    const worker = async () => {
      while (!stop) {
        try {
          await client.work({ ms: 30 });
          ok++;
        } catch (err) {
          failures.push(err);
        }
      }
    };
    const load = Array.from({ length: 12 }, worker);

    const [keep, drop1, drop2] = pool.members;
    await pool.scaleTo(1, { prefer: [drop2!.id!, drop1!.id!] });
    await expect.poll(() => pool.members.length, { timeout: 15_000 }).toBe(1);
    expect(pool.members[0]!.pid).toBe(keep!.pid);
    expect(events.flatMap((e) => (e.type === 'exit' ? [e.pid] : [])).sort()).toEqual(
      [drop1!.pid, drop2!.pid].sort(),
    );
    expect(events.some((e) => e.type === 'crash')).toBe(false);
    expect((await registry.instances('demo')).map((i) => i.id)).toEqual([keep!.id]);
    const before = ok;
    await expect.poll(() => ok).toBeGreaterThan(before + 20);
    stop = true;
    await Promise.all(load);
    expect(failures).toEqual([]);
  });

  it('keeps warm spares unregistered and activates one on scale-out', async () => {
    const { registry, pool } = await setup(1);
    await pool.scaleTo(1);
    await pool.whenReady(1);
    await expect
      .poll(() => pool.members.map((m) => `${m.role}:${m.state}`).sort(), { timeout: 15_000 })
      .toEqual(['active:ready', 'spare:standby']);
    expect(await registry.instances('demo')).toHaveLength(1);
    const spare = pool.members.find((m) => m.role === 'spare')!.pid;

    await pool.scaleTo(2);
    await pool.whenReady(2);
    expect(pool.members.find((m) => m.pid === spare)).toMatchObject({ role: 'active', state: 'ready' });
    await expect.poll(async () => (await registry.instances('demo')).length).toBe(2);
    // A new spare replaces the one taken.
    await expect
      .poll(() => pool.members.filter((m) => m.role === 'spare' && m.state === 'standby').length, {
        timeout: 15_000,
      })
      .toBe(1);
    expect(await pool.replicas()).toBe(2);
  });
});

describe('process pool: children that cannot be started', () => {
  // A plain-JS child that reports ready at once and leaves when told: no registry needed.
  async function fixture(ready = true) {
    const dir = await mkdtemp(join(tmpdir(), 'tensile-pool-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const module = join(dir, 'child.mjs');
    await writeFile(
      module,
      `${ready ? "process.send({ tensile: 'ready', id: 'c' + process.pid, address: '-' });" : ''}
process.on('message', (m) => m?.tensile === 'drain' && process.exit(0));
process.on('disconnect', () => process.exit(0));
setInterval(() => {}, 1000);
`,
    );
    return { dir, module };
  }
  function track(pool: ProcessPool) {
    cleanup.push(() => pool.close());
    const events: PoolEvent[] = [];
    pool.onEvent((e) => events.push(e));
    return events;
  }

  it('a fork that fails (as with EMFILE) counts as a crash and is retried after the backoff', async () => {
    const { dir, module } = await fixture();
    // The binary is missing at first, so spawn fails asynchronously with ENOENT.
    const execPath = join(dir, 'node');
    const pool = processPool({ module, execPath, stdout: 'ignore', restartBackoff: { initialMs: 50 } });
    const events = track(pool);
    await pool.scaleTo(1);
    await expect.poll(() => events.some((e) => e.type === 'spawn-failed')).toBe(true);
    expect(events.some((e) => e.type === 'restart-delayed')).toBe(true);
    expect(pool.members).toEqual([]);
    await symlink(process.execPath, execPath);
    await pool.whenReady(1, 10_000);
    const pid = pool.members[0]!.pid;
    await pool.close();
    expect(alive(pid)).toBe(false);
  });

  it('a fork that throws does not escape scaleTo and is retried with growing backoff', async () => {
    const { module } = await fixture();
    // A NUL byte makes fork() throw synchronously.
    const pool = processPool({
      module,
      execPath: 'no\0de',
      stdout: 'ignore',
      restartBackoff: { initialMs: 20 },
    });
    const events = track(pool);
    await pool.scaleTo(2);
    await expect.poll(() => events.filter((e) => e.type === 'spawn-failed').length).toBeGreaterThanOrEqual(3);
    const delays = events.flatMap((e) => (e.type === 'restart-delayed' ? [e.delayMs] : []));
    // One crash per attempt, not one per missing replica: 20, 40, 80 ms…
    expect(delays.slice(0, 3)).toEqual([20, 40, 80]);
    expect(pool.members).toEqual([]);
  });

  it('a child not ready in time is told to drain, not killed, and counts as a crash', async () => {
    // It may be registering: only the child can take that back before it exits.
    const { module } = await fixture(false);
    const pool = processPool({
      module,
      stdout: 'ignore',
      startTimeoutMs: 300,
      restartBackoff: { initialMs: 50 },
    });
    const events = track(pool);
    await pool.scaleTo(1);
    await expect.poll(() => events.filter((e) => e.type === 'crash').length).toBeGreaterThanOrEqual(2);
    const crashes = events.filter((e) => e.type === 'crash');
    // Exited on its own after the drain message: code 0, no SIGKILL.
    expect(crashes.slice(0, 2).map((e) => e.type === 'crash' && [e.code, e.signal])).toEqual([
      [0, null],
      [0, null],
    ]);
    expect(events.filter((e) => e.type === 'drain').length).toBeGreaterThanOrEqual(2);
    // One backoff step per timed-out start, and a replacement after each.
    const delays = events.flatMap((e) => (e.type === 'restart-delayed' ? [e.delayMs] : []));
    expect(delays.slice(0, 2)).toEqual([50, 100]);
    expect(events.filter((e) => e.type === 'spawn').length).toBeGreaterThanOrEqual(2);
  });

  it('whenReady rejects when the pool closes instead of waiting out its timeout', async () => {
    const { module } = await fixture(false);
    const pool = processPool({ module, stdout: 'ignore' });
    track(pool);
    await pool.scaleTo(1);
    const waiting = pool.whenReady(1, 60_000).catch((err: Error) => err.message);
    await pool.close();
    expect(await waiting).toBe('process pool is closed');
    await expect(pool.whenReady(1)).rejects.toThrow('process pool is closed');
  });
});
