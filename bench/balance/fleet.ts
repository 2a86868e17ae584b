import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryRegistry } from '../../src/registry/memory.js';
import type { Registry } from '../../src/registry/registry.js';
import { type Child, forkTs } from '../rpc/ipc.js';
import type { WorkerCommand, WorkerEvent } from './contract.js';

export interface FleetOptions {
  /** Number of server processes. */
  instances: number;
  /** Simulated I/O per call on a normal instance, ms. */
  latencyMs: number;
  /** Calls one instance works on at once; the rest queue. */
  concurrency: number;
  /** The slow instance's latency is latencyMs × slowFactor. */
  slowFactor: number;
  /** Zone of each instance, by index; instances past the end get the last zone. */
  zones: readonly string[];
  /** Nice value of the server processes (negative needs root); default unchanged. */
  priority?: number;
}

export interface FleetMember {
  id: string;
  address: string;
  zone: string;
  latencyMs: number;
  slow: boolean;
}

export interface Fleet {
  readonly members: readonly FleetMember[];
  /** Discovery holding every member (all UP, weight 1, with zones). */
  readonly registry: Registry;
  /** Discovery holding only the given members, for reference runs. */
  subset(ids: readonly string[]): Promise<Registry>;
  stop(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
export const SERVICE = 'balance-quality';

/** Starts the server processes on free ports of 127.0.0.1 and registers them; instance 0 is the slow one. */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const children: Child<WorkerEvent>[] = [];
  const registries: Registry[] = [];
  const stop = async () => {
    await Promise.all(registries.map((r) => r.close()));
    await Promise.all(children.map((c) => c.stop({ type: 'stop' } satisfies WorkerCommand, 3_000)));
  };
  try {
    const members: FleetMember[] = [];
    for (let i = 0; i < options.instances; i++) {
      const child = forkTs<WorkerEvent>(join(here, 'server.ts'), [], options.priority);
      children.push(child);
      const { port } = await child.next(
        (m): m is Extract<WorkerEvent, { type: 'ready' }> => m.type === 'ready',
        30_000,
      );
      const slow = i === 0;
      const member: FleetMember = {
        id: `i${i}${slow ? '-slow' : ''}`,
        address: `127.0.0.1:${port}`,
        zone: options.zones[Math.min(i, options.zones.length - 1)] ?? 'z0',
        latencyMs: slow ? options.latencyMs * options.slowFactor : options.latencyMs,
        slow,
      };
      const configured = child.next((m) => m.type === 'configured', 10_000);
      child.process.send({
        type: 'configure',
        name: member.id,
        latencyMs: member.latencyMs,
        concurrency: options.concurrency,
      } satisfies WorkerCommand);
      await configured;
      members.push(member);
    }
    const subset = async (ids: readonly string[]) => {
      const registry = memoryRegistry({ ttlMs: 60_000 });
      registries.push(registry);
      for (const m of members) {
        if (!ids.includes(m.id)) continue;
        await registry.register({ service: SERVICE, id: m.id, address: m.address, zone: m.zone });
      }
      return registry;
    };
    const registry = await subset(members.map((m) => m.id));
    return { members, registry, subset, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
