import { disposable } from '../core/events.js';
import { type Instance, normalizeInstance } from '../registry/instance.js';
import type { Discovery } from '../registry/registry.js';

/** A fixed list of addresses as a Discovery: for clients that do not use a registry. */
export function staticDiscovery(addresses: readonly string[]): Discovery {
  if (addresses.length === 0) throw new TypeError('at least one address is required');
  return {
    watch(service, onChange) {
      const instances: Instance[] = addresses.map((address) =>
        normalizeInstance({ service, address, id: address }),
      );
      onChange(instances);
      return disposable(() => {});
    },
  };
}
