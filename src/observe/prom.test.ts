import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { pulled } from './prom.js';

async function values(registry: Registry, name: string) {
  const metric = await registry.getSingleMetric(name)!.get();
  return Object.fromEntries(metric.values.map((v) => [JSON.stringify(v.labels), v.value]));
}

describe('pulled metrics', () => {
  const spec = { name: 'calls_total', help: 'Calls.', labelNames: ['kind'] as const };

  it('sums every reader per label set at each scrape', async () => {
    const registry = new Registry();
    let a = 3;
    let b = 4;
    pulled(registry, 'counter', spec, (set) => set({ kind: 'x' }, a));
    pulled(registry, 'counter', spec, (set) => {
      set({ kind: 'x' }, b);
      set({ kind: 'y' }, 1);
    });
    expect(await values(registry, 'calls_total')).toEqual({ '{"kind":"x"}': 7, '{"kind":"y"}': 1 });
    a = 5;
    b = 6;
    expect(await values(registry, 'calls_total')).toEqual({ '{"kind":"x"}': 11, '{"kind":"y"}': 1 });
  });

  it('keeps what a disposed counter reader had counted, so a total never goes down', async () => {
    const registry = new Registry();
    let a = 3;
    let b = 4;
    pulled(registry, 'counter', spec, (set) => set({ kind: 'x' }, a));
    const second = pulled(registry, 'counter', spec, (set) => {
      set({ kind: 'x' }, b);
      set({ kind: 'y' }, 2);
    });
    expect(await values(registry, 'calls_total')).toEqual({ '{"kind":"x"}': 7, '{"kind":"y"}': 2 });
    b = 10; // counted after the last scrape, before the disposal: kept too
    second.dispose();
    second.dispose(); // twice is harmless: not counted again
    b = 0;
    expect(await values(registry, 'calls_total')).toEqual({ '{"kind":"x"}': 13, '{"kind":"y"}': 2 });
    a = 4;
    expect(await values(registry, 'calls_total')).toEqual({ '{"kind":"x"}': 14, '{"kind":"y"}': 2 });
  });

  it("drops a disposed gauge reader's series", async () => {
    const registry = new Registry();
    const gauge = { name: 'size', help: 'Size.', labelNames: ['kind'] as const };
    pulled(registry, 'gauge', gauge, (set) => set({ kind: 'x' }, 1));
    const second = pulled(registry, 'gauge', gauge, (set) => set({ kind: 'y' }, 5));
    expect(await values(registry, 'size')).toEqual({ '{"kind":"x"}': 1, '{"kind":"y"}': 5 });
    second.dispose();
    expect(await values(registry, 'size')).toEqual({ '{"kind":"x"}': 1 });
  });
});
