import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { embeddedRegistry } from '../registry/embedded/client.js';
import { startRegistry } from '../registry/embedded/server.js';
import type { Registry } from '../registry/registry.js';
import { DemoService } from './demo/demo-service.js';
import { type PoolEvent, processPool } from './process-pool.js';

// Real processes running test-boot-worker.ts, which boots slowly on purpose. The registry's
// lease is long, so a registration left behind stays visible for the whole test.
const fixture = fileURLToPath(new URL('./test-boot-worker.ts', import.meta.url));
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup() {
  const server = await startRegistry({
    leaseTtlMs: 60_000,
    renewIntervalMs: 1_000,
    evictionIntervalMs: 200,
    selfPreservation: false,
    warmupMs: 0,
  });
  cleanup.push(() => server.close());
  const registry: Registry = embeddedRegistry({ url: server.url });
  cleanup.push(() => registry.close());
  return { url: server.url, registry };
}

function start(url: string, env: Record<string, string>): ChildProcess {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = fork(fixture, [], {
    execArgv: ['--import', tsx],
    env: { ...process.env, TENSILE_REGISTRY_URL: url, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return child;
}

const message = (child: ChildProcess, fixture: string) =>
  new Promise<void>((resolve) => {
    const on = (m: { fixture?: string }) => {
      if (m?.fixture !== fixture) return;
      child.off('message', on);
      resolve();
    };
    child.on('message', on);
  });

describe('runInstance: leaving while it boots', () => {
  it.each([
    ['warming up', 'warming', { BOOT_WARMUP_MS: '1500' }],
    ['registering', 'registered', { BOOT_ACK_MS: '1500' }],
  ])('a child whose parent disconnects while %s exits and leaves no registration', async (_, phase, env) => {
    const { url, registry } = await setup();
    const child = start(url, env);
    await message(child, phase);
    child.disconnect();
    await expect.poll(() => child.exitCode, { timeout: 15_000 }).toBe(0);
    expect(await registry.instances(DemoService.name)).toEqual([]);
  });

  it('scale-in of a still-starting member leaves no registration behind', async () => {
    const { url, registry } = await setup();
    const pool = processPool({
      module: fixture,
      registryUrl: url,
      env: { BOOT_ACK_MS: '3000' },
      stdout: 'ignore',
    });
    cleanup.push(() => pool.close());
    const events: PoolEvent[] = [];
    pool.onEvent((e) => events.push(e));
    await pool.scaleTo(1);
    // Registered, but the child has not heard so yet: still starting for the pool.
    await expect.poll(() => registry.instances(DemoService.name), { timeout: 15_000 }).toHaveLength(1);
    const [member] = pool.members;
    expect(member?.state).toBe('starting');
    await pool.scaleTo(0);
    await expect
      .poll(() => events.some((e) => e.type === 'exit' || e.type === 'crash'), { timeout: 15_000 })
      .toBe(true);
    expect(events.filter((e) => e.type === 'exit' || e.type === 'crash')).toMatchObject([
      { type: 'exit', code: 0 },
    ]);
    expect(await registry.instances(DemoService.name)).toEqual([]);
  });
});
