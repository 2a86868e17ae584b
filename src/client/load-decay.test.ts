import { afterEach, describe, expect, it } from 'vitest';
import { p2cEwma } from '../balance/p2c-ewma.js';
import { createServer } from '../server/server.js';
import { Greeter } from '../test/greeter.js';
import { createClient } from './client.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe("the client's load tracking", () => {
  it("decays latency at the balancer's pace", async () => {
    const server = createServer().implement(Greeter, {
      sayHello: async ({ name }) => ({ message: name }),
      echo: async (x) => x,
      sleep: async ({ ms }) => new Promise((r) => setTimeout(() => r({ aborted: false }), ms)),
      fail: async () => {
        throw new Error('no');
      },
    });
    const { address } = await server.listen();
    cleanup.push(() => server.close({ graceMs: 50 }));
    const standard = createClient(Greeter, { addresses: [address] });
    const quick = createClient(Greeter, { addresses: [address], balancer: p2cEwma({ decayMs: 20 }) });
    cleanup.push(
      () => standard.close(),
      () => quick.close(),
    );

    // One slow call, a pause, then a fast one: the peak EWMA forgives the slow one only as its
    // time constant allows (10 s by default, 20 ms for the second client).
    await Promise.all([standard.sleep({ ms: 200 }), quick.sleep({ ms: 200 })]);
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all([standard.sleep({ ms: 0 }), quick.sleep({ ms: 0 })]);

    const peak = (c: typeof standard) => c.$directory.all()[0]!.load.peakEwmaMs;
    expect(peak(standard)).toBeGreaterThan(100);
    expect(peak(quick)).toBeLessThan(50);
  });
});
