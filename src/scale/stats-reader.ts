import { type Client, createClient } from '../client/client.js';
import type { Instance } from '../registry/instance.js';
import type { InstanceSignals } from './fleet.js';
import { StatsService } from './signals.js';

export interface StatsReaderOptions {
  /** Per-read deadline: a slow instance counts as missing rather than stalling the loop; default 500 ms. */
  timeoutMs?: number;
}

export interface StatsReader {
  (instances: readonly Instance[]): Promise<InstanceSignals[]>;
  close(): Promise<void>;
}

/**
 * Reads `tensile.stats/get` from every UP instance in parallel, one Tensile client per
 * address kept across ticks so each read is one frame on a warm connection. Clients of
 * instances that left are closed on the next read.
 */
export function statsReader(options: StatsReaderOptions = {}): StatsReader {
  const timeoutMs = options.timeoutMs ?? 500;
  const clients = new Map<string, Client<typeof StatsService>>();

  const clientFor = (address: string) => {
    let client = clients.get(address);
    if (!client) {
      client = createClient(StatsService, { addresses: [address], timeoutMs, connectTimeoutMs: timeoutMs });
      clients.set(address, client);
    }
    return client;
  };

  const read = async (instances: readonly Instance[]): Promise<InstanceSignals[]> => {
    const live = new Set(instances.map((i) => i.address));
    for (const [address, client] of clients) {
      if (!live.has(address)) {
        clients.delete(address);
        void client.close();
      }
    }
    return Promise.all(
      instances.map(async (i) => {
        const base = { id: i.id, address: i.address, status: i.status, registeredAt: i.registeredAt };
        if (i.status !== 'UP') return base;
        try {
          return { ...base, snapshot: await clientFor(i.address).get(undefined) };
        } catch {
          return base;
        }
      }),
    );
  };

  return Object.assign(read, {
    async close() {
      await Promise.all([...clients.values()].map((c) => c.close()));
      clients.clear();
    },
  });
}
