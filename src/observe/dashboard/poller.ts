import type { Instance } from '../../registry/instance.js';
import type { LoadSnapshot } from '../../scale/signals.js';
import { type StatsReader, statsReader } from '../../scale/stats-reader.js';

export interface StatsPollerOptions {
  /** Reads in flight at once; default 16. */
  concurrency?: number;
  /** Deadline of one read; default 500 ms. */
  timeoutMs?: number;
  /** Addresses read per poll (the first ones in service, id order); default 200. */
  maxInstances?: number;
  /** Longest pause before retrying an instance that did not answer; default 30 s. */
  maxBackoffMs?: number;
  now?: () => number;
}

export interface PolledStats {
  instance: Instance;
  snapshot: LoadSnapshot;
}

export interface StatsPoller {
  /** Reads the UP instances among `instances`; only those that answered are returned. */
  poll(instances: readonly Instance[]): Promise<PolledStats[]>;
  /** Closes the stats connections (the next poll opens them again). */
  close(): Promise<void>;
}

/**
 * Reads instances' built-in stats method through `statsReader`, in batches of
 * `concurrency`, one reader per batch slot so each keeps its connections warm while the
 * fleet is stable. Each address is read once, whatever number of services it registered.
 * An address that does not answer (not a Tensile server, overloaded, gone) is skipped for
 * an exponentially growing pause, so it cannot slow every poll.
 */
export function statsPoller(options: StatsPollerOptions = {}): StatsPoller {
  const concurrency = Math.max(1, options.concurrency ?? 16);
  const timeoutMs = options.timeoutMs ?? 500;
  const maxInstances = options.maxInstances ?? 200;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const now = options.now ?? Date.now;
  const readers: StatsReader[] = [];
  const misses = new Map<string, { count: number; until: number }>();

  const poll = async (instances: readonly Instance[]): Promise<PolledStats[]> => {
    const t = now();
    // One server often registers several services at one address; its stats are per process, so read it once.
    const byAddress = new Map<string, Instance[]>();
    for (const i of instances) {
      if (i.status !== 'UP') continue;
      const same = byAddress.get(i.address);
      if (same) same.push(i);
      else if (byAddress.size < maxInstances) byAddress.set(i.address, [i]);
    }
    for (const address of misses.keys()) if (!byAddress.has(address)) misses.delete(address);
    const due = [...byAddress.values()]
      .map((same) => same[0]!)
      .filter((i) => (misses.get(i.address)?.until ?? 0) <= t);

    const answered: PolledStats[] = [];
    const batches = Math.ceil(due.length / concurrency);
    for (let b = 0; b < batches; b++) {
      const batch = due.slice(b * concurrency, (b + 1) * concurrency);
      readers[b] ??= statsReader({ timeoutMs });
      const results = await readers[b]!(batch);
      results.forEach((r, n) => {
        const { address } = batch[n]!;
        if (r.snapshot) {
          misses.delete(address);
          for (const instance of byAddress.get(address)!) answered.push({ instance, snapshot: r.snapshot });
        } else {
          const count = (misses.get(address)?.count ?? 0) + 1;
          // The first miss is retried on the next poll; later ones wait 2 s, 4 s, … up to the cap.
          const pause = count === 1 ? 0 : Math.min(maxBackoffMs, 1000 * 2 ** (count - 1));
          misses.set(address, { count, until: now() + pause });
        }
      });
    }
    for (const extra of readers.splice(batches)) void extra.close();
    return answered;
  };

  return {
    poll,
    async close() {
      await Promise.all(readers.splice(0).map((r) => r.close()));
    },
  };
}
