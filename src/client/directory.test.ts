import { describe, expect, it } from 'vitest';
import { disposable } from '../core/events.js';
import { normalizeInstance } from '../registry/instance.js';
import type { Discovery } from '../registry/registry.js';
import { jsonCodec } from '../wire/codec.js';
import { type DirectoryOptions, ServiceDirectory } from './directory.js';

/** Discovery that hands the test its listener and, like a slow backend, ignores dispose. */
function lateDiscovery() {
  let listener: Parameters<Discovery['watch']>[1] = () => {};
  const discovery: Discovery = {
    watch(_service, onChange) {
      listener = onChange;
      return disposable(() => {});
    },
  };
  return { discovery, deliver: (...args: Parameters<typeof listener>) => listener(...args) };
}

const directory = (discovery: Discovery, extra: Partial<DirectoryOptions> = {}) =>
  new ServiceDirectory({
    service: 'svc',
    discovery,
    balancer: { name: 'first', pick: (endpoints) => endpoints[0] },
    codec: jsonCodec(),
    endpointFilters: [],
    connectTimeoutMs: 100,
    maxFrameBytes: undefined,
    backoff: undefined,
    ...extra,
  });
const instance = (id: string) => normalizeInstance({ service: 'svc', address: `127.0.0.1:${id}`, id });

describe('ServiceDirectory', () => {
  it('follows discovery until closed', async () => {
    const { discovery, deliver } = lateDiscovery();
    const dir = directory(discovery);
    deliver([instance('1'), instance('2')]);
    await dir.ready;
    expect(dir.all().map((e) => e.instance.id)).toEqual(['1', '2']);
    deliver([instance('2')]);
    expect(dir.all().map((e) => e.instance.id)).toEqual(['2']);
    await dir.close();
  });

  it('ignores a set delivered after close, so no endpoint outlives the client', async () => {
    const { discovery, deliver } = lateDiscovery();
    const changes: number[] = [];
    const dir = directory(discovery, { onChange: (endpoints) => changes.push(endpoints.length) });
    await dir.close();
    deliver([instance('1')]);
    expect(dir.all()).toEqual([]);
    expect(dir.resolved).toBe(false);
    expect(changes).toEqual([]);
    await expect(dir.ready).rejects.toThrow(/closed/);
  });

  it('retires the endpoints it drops: left, moved to a new address, or closed with it', async () => {
    const { discovery, deliver } = lateDiscovery();
    const dir = directory(discovery);
    const at = (id: string, port: string) =>
      normalizeInstance({ service: 'svc', address: `127.0.0.1:${port}`, id });
    deliver([at('a', '1'), at('b', '2'), at('c', '3')]);
    const [a, b, c] = dir.all();
    deliver([at('b', '4'), at('c', '3')]); // a left, b moved to a new address
    const [b2] = dir.all();
    expect([a, b, c, b2].map((e) => e!.retired)).toEqual([true, true, false, false]);
    await dir.close();
    expect([c, b2].map((e) => e!.retired)).toEqual([true, true]);
  });
});
