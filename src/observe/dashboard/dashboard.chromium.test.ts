import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { p2cEwma } from '../../balance/p2c-ewma.js';
import { slowStart } from '../../balance/slow-start.js';
import { createClient } from '../../client/client.js';
import { embeddedRegistry } from '../../registry/embedded/client.js';
import { startRegistry } from '../../registry/embedded/server.js';
import { createAutoscaler } from '../../scale/autoscaler.js';
import { targetTracking } from '../../scale/policy.js';
import { startInstance, type TestInstance, WorkService } from './test-fleet.js';

// End to end in Debian's Chromium: the page served by a real embedded registry, real
// Tensile instances with the stats method, a real client and autoscaler attached in-process.
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const ci = process.env.CI === 'true';
const SCREENSHOT = resolve('test-results', 'dashboard.png');
if (!haveChromium && !ci) console.warn(`dashboard browser test skipped: ${CHROMIUM} is missing`);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const title = haveChromium ? 'dashboard in Chromium' : `dashboard in Chromium (${CHROMIUM} missing)`;
describe.skipIf(!haveChromium && !ci)(title, () => {
  it('loads, shows instances as they come and go, live stats and autoscaler decisions', {
    timeout: 60_000,
  }, async () => {
    // In CI a missing browser is a failure, not a skip.
    expect(existsSync(CHROMIUM), `${CHROMIUM} is required when CI=true`).toBe(true);
    const registry = await startRegistry({ dashboard: { pollIntervalMs: 250 } });
    cleanups.push(() => registry.close());
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    cleanups.push(() => browser.close());
    const page: Page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

    await page.goto(`${registry.url}/dashboard/`);
    await page.locator('#live[data-state="live"]').waitFor({ timeout: 10_000 });
    await expect
      .poll(() => page.locator('#services').textContent())
      .toContain('No instances registered yet.');

    // An in-process fleet: the scaler starts and stops real instances.
    const fleet: TestInstance[] = [];
    cleanups.push(() => Promise.all(fleet.map((i) => i.close())));
    const zones = ['eu-1', 'eu-2'];
    const scaler = {
      replicas: async () => fleet.length,
      scaleTo: async (n: number) => {
        while (fleet.length < n)
          fleet.push(await startInstance(registry.url, { zone: zones[fleet.length % 2]! }));
        while (fleet.length > n) await fleet.pop()!.close();
      },
    };
    await scaler.scaleTo(2);
    const [a, b] = fleet as [TestInstance, TestInstance];
    const row = (id: string) => page.locator(`tr[data-instance="${id}"]`);
    for (const i of [a, b]) {
      await row(i.id).waitFor({ timeout: 10_000 });
      await expect.poll(() => row(i.id).locator('td[data-status]').textContent()).toBe('UP');
    }
    expect(await row(b.id).textContent()).toContain('eu-2');

    const discovery = embeddedRegistry({ url: registry.url });
    cleanups.push(() => discovery.close());
    const ramp = slowStart({ windowMs: 120_000 });
    const client = createClient(WorkService, { registry: discovery, balancer: p2cEwma({ slowStart: ramp }) });
    cleanups.push(() => client.close());
    const autoscaler = createAutoscaler({
      service: WorkService,
      registry: discovery,
      scaler,
      intervalMs: 400,
      // Generous: on a loaded machine a timed-out read counts as no load and delays the scale-out.
      statsTimeoutMs: 2_000,
      policy: targetTracking({
        targets: [{ signal: 'concurrency', target: 1 }],
        // At least the two started above, so the one the test removes is still there.
        minReplicas: 2,
        maxReplicas: 3,
        scaleUp: { steps: [{ pods: 1, periodMs: 400 }] },
      }),
    });
    cleanups.push(() => autoscaler.stop());
    const attachment = registry.dashboard!.attach({ autoscaler, client, slowStart: ramp });
    cleanups.push(() => attachment.dispose());

    // Closed-loop load: 6 callers × 40 ms calls keep ~3 calls in flight per instance, 3× the target
    // (concurrency: calls in flight averaged over the last seconds, steadier than the instant count).
    let loading = true;
    const callers = Array.from({ length: 6 }, async () => {
      while (loading) await client.work({ ms: 40 }).catch(() => {});
    });
    cleanups.push(async () => {
      loading = false;
      await Promise.all(callers);
    });
    autoscaler.start();

    // Sparklines fill in, the rate figure shows, the client's view and ramp appear.
    await expect
      .poll(() => row(a.id).locator('polyline').first().getAttribute('points'), { timeout: 10_000 })
      .toMatch(/\d+(\.\d+)?,\d+(\.\d+)? \d/);
    await expect
      .poll(async () => Number(await row(a.id).locator('td .metric span').first().textContent()))
      .toBeGreaterThan(0);
    await expect.poll(() => row(a.id).getAttribute('data-instance')).toBe(a.id);
    await expect.poll(() => row(a.id).locator('td[data-client]').getAttribute('data-client')).toBe('open');
    await expect.poll(() => row(a.id).textContent()).toMatch(/\d+%/);

    // The autoscaler scales out: the decision shows in the timeline and the events, and the new instance appears.
    const scalerCard = page.locator(`.scaler[data-service="${WorkService.name}"]`);
    await scalerCard.locator('.decisions li[data-direction="up"]').first().waitFor({ timeout: 20_000 });
    expect(await scalerCard.locator('.decisions li').first().textContent()).toMatch(/concurrency/);
    expect(await scalerCard.locator('svg.chart path.marker').count()).toBeGreaterThan(0);
    await page.locator('#events li[data-kind="scale"]').first().waitFor();
    await expect.poll(() => page.locator('tr[data-instance]').count(), { timeout: 15_000 }).toBe(3);
    // Every row's registration is in the events (a lease renewed late on a loaded machine may add more).
    const registered = await page.locator('#events li[data-kind="register"] .who').allTextContents();
    for (const i of fleet) expect(registered.some((who) => who.includes(i.id))).toBe(true);

    // Screenshot with everything on screen, once the charts have a few seconds of history.
    await expect
      .poll(
        async () => (await row(a.id).locator('polyline').first().getAttribute('points'))?.split(' ').length,
        {
          timeout: 10_000,
        },
      )
      .toBeGreaterThanOrEqual(12);
    await mkdir(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect((await stat(SCREENSHOT)).size).toBeGreaterThan(10_000);

    // Registrants' strings are shown as text, never parsed as HTML.
    const hostile = '<img src=x onerror="window.__owned=1"><b>bold</b>';
    registry.store.register({
      service: WorkService.name,
      id: hostile,
      address: '127.0.0.1:9',
      zone: hostile,
      weight: 1,
      metadata: {},
      status: 'DOWN',
      registeredAt: Date.now(),
    });
    await page.locator('tr[data-instance^="<img"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('tr[data-instance^="<img"] td.id span').first().textContent()).toBe(hostile);
    expect(await page.locator('tr[data-instance^="<img"] td').nth(2).textContent()).toBe(hostile);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __owned?: number }).__owned)).toBeUndefined();
    registry.store.remove(WorkService.name, hostile);

    // One leaves: its row goes, the events list says so.
    await autoscaler.stop();
    await b.close();
    const gone = fleet.indexOf(b);
    if (gone >= 0) fleet.splice(gone, 1);
    await row(b.id).waitFor({ state: 'detached', timeout: 10_000 });
    await page.locator(`#events li[data-kind="deregister"]`).first().waitFor();
    expect(await page.locator('#events li[data-kind="deregister"] .who').first().textContent()).toContain(
      b.id,
    );
    expect(await row(a.id).count()).toBe(1);

    expect(problems).toEqual([]);
  });

  it('counts instances the capped snapshot left out once, as they change, come and go', {
    timeout: 30_000,
  }, async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is required when CI=true`).toBe(true);
    const registry = await startRegistry({ dashboard: { maxSnapshotInstances: 1 } });
    cleanups.push(() => registry.close());
    const add = (id: string) =>
      registry.store.register({
        service: 'svc',
        id,
        address: '127.0.0.1:9',
        weight: 1,
        metadata: {},
        status: 'UP',
        registeredAt: Date.now(),
      });
    add('a');
    add('b'); // after 'a' in the snapshot's order: counted, not listed
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    cleanups.push(() => browser.close());
    const page: Page = await browser.newPage();
    await page.goto(`${registry.url}/dashboard/`);
    await page.locator('#live[data-state="live"]').waitFor({ timeout: 10_000 });
    const total = () => page.locator('#totals [data-total="instances"] dd').textContent();
    await expect.poll(total).toBe('2');

    registry.store.setStatus('svc', 'b', 'DOWN'); // a change to the instance the page was not shown
    await page.locator('tr[data-instance="b"] td[data-status="DOWN"]').waitFor({ timeout: 10_000 });
    expect(await total()).toBe('2');
    add('c');
    await page.locator('tr[data-instance="c"]').waitFor({ timeout: 10_000 });
    expect(await total()).toBe('3');
    registry.store.remove('svc', 'a');
    await page.locator('tr[data-instance="a"]').waitFor({ state: 'detached', timeout: 10_000 });
    expect(await total()).toBe('2');
  });
});
