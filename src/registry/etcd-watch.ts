import type { Etcd3, IWatchCreateRequest, IWatchResponse, Watcher } from 'etcd3';
import type { Instance } from './instance.js';

export interface PrefixWatchOptions {
  client: Etcd3;
  /** Key prefix of one service, ending in `/`. */
  prefix: string;
  /** Human name for log lines. */
  service: string;
  decode(key: string, value: string): Instance | undefined;
  onChange(instances: readonly Instance[]): void;
  logger: { warn(message: string): void };
  /** Retry delay after a failed initial read or a cancelled watch. */
  retryMs: number;
}

/**
 * Mirrors every key under a prefix and reports the full set after each change.
 *
 * It reads the prefix once, then watches from the revision after that read, so no
 * change between the read and the watch is lost. After a reconnect it resumes from
 * the last revision it applied (not from the etcd3 default, which jumps to the
 * server's head revision on the create response, before catch-up events arrive).
 * If etcd compacted that revision away, it reads the prefix again.
 * While etcd is unreachable nothing is emitted, so the last set stays in force.
 */
export function watchPrefix(options: PrefixWatchOptions): () => void {
  const { client, prefix, logger } = options;
  const values = new Map<string, string>();
  let revision = 0n;
  let watcher: Watcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let disconnected = false;
  let lastSignature: string | undefined;

  const emit = () => {
    // etcd3 keeps delivering until the server acknowledges the cancel; nobody listens any more.
    if (stopped) return;
    const entries = [...values].sort(([a], [b]) => (a < b ? -1 : 1));
    // Re-puts after a lease loss write identical values; watchers need not hear about them.
    const signature = JSON.stringify(entries);
    if (signature === lastSignature) return;
    lastSignature = signature;
    const instances: Instance[] = [];
    for (const [key, value] of entries) {
      const instance = options.decode(key, value);
      if (instance) instances.push(instance);
    }
    options.onChange(instances);
  };

  const apply = (res: IWatchResponse) => {
    if (stopped) return;
    if (res.events.length === 0) {
      // Progress notifications are only sent to watchers that are caught up.
      const head = BigInt(res.header.revision);
      if (head > revision) revision = head;
      return;
    }
    for (const event of res.events) {
      const key = event.kv.key.toString();
      if (event.type === 'Put') values.set(key, event.kv.value.toString());
      else values.delete(key);
      // The header revision can run ahead of the events in a catch-up batch; the events cannot.
      const rev = BigInt(event.kv.mod_revision);
      if (rev > revision) revision = rev;
    }
    emit();
  };

  const retry = () => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void sync(), options.retryMs);
  };

  const sync = async () => {
    try {
      const res = await client.getAll().prefix(prefix).exec();
      if (stopped) return;
      values.clear();
      for (const kv of res.kvs) values.set(kv.key.toString(), kv.value.toString());
      revision = BigInt(res.header.revision);
      emit();
      const created = await client
        .watch()
        .prefix(prefix)
        .startRevision(String(revision + 1n))
        .create();
      if (stopped) {
        void created.cancel().catch(() => {});
        return;
      }
      watcher = created
        .on('connecting', (req) => {
          // etcd3 hands us the request it is about to send: point it at what we applied.
          (req as IWatchCreateRequest).start_revision = String(revision + 1n);
        })
        .on('data', apply)
        .on('disconnected', (err) => {
          if (disconnected || stopped) return;
          disconnected = true;
          logger.warn(
            `etcd watch of ${options.service} disconnected (${err.message}); keeping the last ${values.size} instance(s)`,
          );
        })
        .on('connected', () => {
          if (!disconnected) return;
          disconnected = false;
          logger.warn(`etcd watch of ${options.service} resumed from revision ${revision + 1n}`);
        })
        .on('error', (err) => {
          // A cancelled watch (usually: our revision was compacted away) cannot resume; read afresh.
          logger.warn(`etcd watch of ${options.service} cancelled (${err.message}); re-reading`);
          watcher = undefined;
          void created.cancel().catch(() => {});
          retry();
        });
    } catch (err) {
      if (stopped) return;
      logger.warn(`etcd read of ${options.service} failed (${(err as Error).message}); retrying`);
      retry();
    }
  };

  void sync();
  return () => {
    stopped = true;
    clearTimeout(timer);
    void watcher?.cancel().catch(() => {});
  };
}
