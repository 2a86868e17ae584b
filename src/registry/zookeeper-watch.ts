import zookeeper, { type Event, type Stat } from 'node-zookeeper-client';
import type { Instance } from './instance.js';
import { ZkCode, type ZkSession, zkCode } from './zookeeper-session.js';

export interface ServiceWatchOptions {
  session: ZkSession;
  /** The persistent znode whose ephemeral children are the instances. */
  path: string;
  service: string;
  decode(path: string, data: string): Instance | undefined;
  onChange(instances: readonly Instance[]): void;
  logger: { warn(message: string): void };
  retryMs: number;
}

/**
 * Mirrors the children of a service znode and their data, and reports the full set
 * after each change. ZooKeeper watches fire once, so every trigger re-reads with a
 * new watch: getChildren for membership, getData per child for status and metadata,
 * exists while the service znode is missing. After a session expiry the watches
 * are gone with the old session, so every child is read (and watched) again.
 */
export function watchService(options: ServiceWatchOptions): () => void {
  const { session, path, logger } = options;
  const data = new Map<string, string>();
  /** Session generation in which each child's data watch was set. */
  const armed = new Map<string, number>();
  let stopped = false;
  let running = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let lastSignature: string | undefined;

  const emit = () => {
    // A read started before dispose may finish after it; its result has no listener left.
    if (stopped) return;
    const entries = [...data].sort(([a], [b]) => (a < b ? -1 : 1));
    const signature = JSON.stringify(entries);
    if (signature === lastSignature) return;
    lastSignature = signature;
    const instances: Instance[] = [];
    for (const [child, raw] of entries) {
      const instance = options.decode(`${path}/${child}`, raw);
      if (instance) instances.push(instance);
    }
    options.onChange(instances);
  };

  // One function per kind: the client de-duplicates watchers by identity, so re-arming never stacks them.
  const onChildren = () => void refresh();
  const onExists = () => void refresh();
  const onData = (event: Event) => {
    if (stopped) return;
    const child = event.getPath().slice(path.length + 1);
    armed.delete(child);
    if (event.getType() === zookeeper.Event.NODE_DELETED) {
      data.delete(child);
      emit();
    } else void readChild(child).then(emit, () => void refresh());
  };

  const readChild = async (child: string) => {
    const generation = session.generation;
    try {
      const buf = await session.run<Buffer>((c, done) => c.getData(`${path}/${child}`, onData, done));
      data.set(child, buf?.toString() ?? '');
      armed.set(child, generation);
    } catch (err) {
      if (zkCode(err) !== ZkCode.NO_NODE) throw err;
      data.delete(child);
      armed.delete(child);
    }
  };

  const readAll = async (): Promise<void> => {
    const generation = session.generation;
    let children: string[];
    try {
      children = await session.run<string[]>((c, done) => c.getChildren(path, onChildren, done));
    } catch (err) {
      if (zkCode(err) !== ZkCode.NO_NODE) throw err;
      // No instance has ever registered: watch for the service znode to appear.
      const stat = await session.run<Stat | null>((c, done) => c.exists(path, onExists, done));
      if (stat) return readAll();
      data.clear();
      armed.clear();
      return;
    }
    const present = new Set(children);
    for (const child of [...data.keys()]) {
      if (!present.has(child)) {
        data.delete(child);
        armed.delete(child);
      }
    }
    await Promise.all(children.filter((c) => armed.get(c) !== generation).map(readChild));
  };

  /** Serialised: a trigger during a read schedules exactly one more read. */
  const refresh = async (): Promise<void> => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await readAll();
        if (stopped) return;
        emit();
      } while (again && !stopped);
    } catch (err) {
      if (stopped) return;
      // Until ZooKeeper answers again the last emitted set stays in force.
      logger.warn(`zookeeper watch of ${options.service} failed (${(err as Error).message}); retrying`);
      clearTimeout(timer);
      timer = setTimeout(() => void refresh(), options.retryMs);
    } finally {
      running = false;
    }
  };

  const unsubscribe = session.onSession(() => void refresh());
  void refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    unsubscribe();
  };
}
