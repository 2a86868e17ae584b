import { describe, expect, it } from 'vitest';
import { disposable } from '../core/events.js';
import { normalizeInstance } from '../registry/instance.js';
import type { Discovery } from '../registry/registry.js';
import { jsonCodec } from '../wire/codec.js';
import { ServiceDirectory } from './directory.js';

describe('retired endpoints', () => {
  it('the directory retires endpoints that leave, are replaced, or close with it', async () => {
    let deliver: Parameters<Discovery['watch']>[1] = () => {};
    const discovery: Discovery = {
      watch(_service, onChange) {
        deliver = onChange;
        return disposable(() => {});
      },
    };
    const dir = new ServiceDirectory({
      service: 'svc',
      discovery,
      balancer: { name: 'first', pick: (endpoints) => endpoints[0] },
      codec: jsonCodec(),
      endpointFilters: [],
      connectTimeoutMs: 100,
      maxFrameBytes: undefined,
      backoff: undefined,
    });
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
