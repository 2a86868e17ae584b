import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createEmitter } from '../core/events.js';
import { memoryRegistry } from '../registry/memory.js';
import { createAutoscaler } from '../scale/autoscaler.js';
import { targetTracking } from '../scale/policy.js';
import {
  bindAutoscalerMetrics,
  bindRegistryMetrics,
  type RegistryEvent,
  type ScaleEvent,
} from './event-metrics.js';
import { parseExposition, sampleValue } from './testing.js';

async function read(registry: Registry) {
  return parseExposition(await registry.metrics());
}

describe('bindRegistryMetrics', () => {
  it('reads instance counts and renewals at scrape time and counts changes', async () => {
    const registry = new Registry();
    let instances = [
      { service: 'a', status: 'UP' },
      { service: 'a', status: 'UP' },
      { service: 'a', status: 'STARTING' },
      { service: 'b', status: 'UP' },
    ];
    let renewals = 10;
    const events = createEmitter<RegistryEvent>();
    const binding = bindRegistryMetrics({
      registry,
      instances: () => instances,
      renewals: () => renewals,
      events: events.event,
    });
    events.emit({ type: 'register', service: 'a' });
    events.emit({ type: 'expire', service: 'b' });
    events.emit({ type: 'renew', service: 'a' });

    let { samples, types } = await read(registry);
    expect(types.get('tensile_registry_lease_renewals_total')).toBe('counter');
    expect(sampleValue(samples, 'tensile_registry_instances', { service: 'a', status: 'UP' })).toBe(2);
    expect(sampleValue(samples, 'tensile_registry_instances', { service: 'a', status: 'STARTING' })).toBe(1);
    expect(sampleValue(samples, 'tensile_registry_lease_renewals_total')).toBe(11);
    expect(sampleValue(samples, 'tensile_registry_changes_total', { service: 'b', type: 'expire' })).toBe(1);

    instances = [{ service: 'b', status: 'UP' }];
    renewals = 25;
    ({ samples } = await read(registry));
    expect(
      sampleValue(samples, 'tensile_registry_instances', { service: 'a', status: 'UP' }),
    ).toBeUndefined();
    expect(sampleValue(samples, 'tensile_registry_instances', { service: 'b', status: 'UP' })).toBe(1);
    expect(sampleValue(samples, 'tensile_registry_lease_renewals_total')).toBe(26);

    binding.dispose();
    ({ samples } = await read(registry));
    expect(
      sampleValue(samples, 'tensile_registry_instances', { service: 'b', status: 'UP' }),
    ).toBeUndefined();
  });
});

describe('bindRegistryMetrics cardinality', () => {
  it('gives at most maxServices services a label of their own and folds the rest into _other', async () => {
    const registry = new Registry();
    const events = createEmitter<RegistryEvent>();
    const instances = [
      { service: 'a', status: 'UP' },
      { service: 'made-up-1', status: 'UP' },
      { service: 'made-up-2', status: 'UP' },
    ];
    using _bound = bindRegistryMetrics({
      registry,
      events: events.event,
      instances: () => instances,
      maxServices: 2,
    });
    for (const service of ['a', 'b', 'made-up-1', 'made-up-2', 'a'])
      events.emit({ type: 'register', service });

    const { samples } = await read(registry);
    const changes = (service: string) =>
      sampleValue(samples, 'tensile_registry_changes_total', { service, type: 'register' });
    expect([changes('a'), changes('b'), changes('_other'), changes('made-up-1')]).toEqual([
      2,
      1,
      2,
      undefined,
    ]);
    const up = (service: string) =>
      sampleValue(samples, 'tensile_registry_instances', { service, status: 'UP' });
    expect([up('a'), up('_other'), up('made-up-2')]).toEqual([1, 2, undefined]);
  });
});

describe('bindAutoscalerMetrics', () => {
  it('reports current and desired replicas from state or from the last decision', async () => {
    const registry = new Registry();
    const state = { current: () => 3, desired: () => 5 };
    using _pulled = bindAutoscalerMetrics({ registry, service: 'api', state });
    const decisions = createEmitter<ScaleEvent & { reason: string }>();
    using _pushed = bindAutoscalerMetrics({ registry, decisions: decisions.event });
    decisions.emit({ service: 'worker', current: 2, desired: 4, reason: 'p99 above target' });
    decisions.emit({ service: 'worker', current: 4, desired: 4, reason: 'within tolerance' });
    decisions.emit({ service: 'worker', current: 4, desired: 1, direction: 'down', reason: 'idle' });

    const { samples } = await read(registry);
    expect(sampleValue(samples, 'tensile_autoscaler_current_replicas', { service: 'api' })).toBe(3);
    expect(sampleValue(samples, 'tensile_autoscaler_desired_replicas', { service: 'api' })).toBe(5);
    expect(sampleValue(samples, 'tensile_autoscaler_current_replicas', { service: 'worker' })).toBe(4);
    expect(sampleValue(samples, 'tensile_autoscaler_desired_replicas', { service: 'worker' })).toBe(1);
    const decided = (direction: string) =>
      sampleValue(samples, 'tensile_autoscaler_decisions_total', { service: 'worker', direction });
    expect([decided('up'), decided('none'), decided('down')]).toEqual([1, 1, 1]);
  });

  it("reads a real autoscaler's last decision, with no series before it and no failed scrape", async () => {
    const registry = new Registry();
    const discovery = memoryRegistry();
    let replicas = 1;
    const autoscaler = createAutoscaler({
      service: 'api',
      registry: discovery,
      scaler: {
        replicas: async () => replicas,
        scaleTo: async (n) => {
          replicas = n;
        },
      },
      readSignals: async () => [],
      // Below its minimum of 2, a fleet of 1 is scaled up whatever the load.
      policy: targetTracking({
        targets: [{ signal: 'inflight', target: 1 }],
        minReplicas: 2,
        maxReplicas: 3,
      }),
    });
    using _bound = bindAutoscalerMetrics({ registry, autoscaler });
    let { samples } = await read(registry);
    expect(sampleValue(samples, 'tensile_autoscaler_desired_replicas', { service: 'api' })).toBeUndefined();

    await autoscaler.tick();
    ({ samples } = await read(registry));
    expect(sampleValue(samples, 'tensile_autoscaler_current_replicas', { service: 'api' })).toBe(1);
    expect(sampleValue(samples, 'tensile_autoscaler_desired_replicas', { service: 'api' })).toBe(2);
    expect(
      sampleValue(samples, 'tensile_autoscaler_decisions_total', { service: 'api', direction: 'up' }),
    ).toBe(1);
    await autoscaler.stop();
    await discovery.close();
  });

  it('keeps the scrape when a state reader throws', async () => {
    const registry = new Registry();
    const state = {
      current: (): number => {
        throw new TypeError('gone');
      },
      desired: () => 2,
    };
    using _bound = bindAutoscalerMetrics({ registry, service: 'api', state });
    const { samples } = await read(registry);
    expect(sampleValue(samples, 'tensile_autoscaler_current_replicas', { service: 'api' })).toBeUndefined();
    expect(sampleValue(samples, 'tensile_autoscaler_desired_replicas', { service: 'api' })).toBe(2);
  });
});
