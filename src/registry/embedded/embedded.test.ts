import { registryContract } from '../registry.case.js';
import { embeddedRegistry } from './client.js';
import { type RunningRegistry, startRegistry } from './server.js';

const TTL = 1500;
let server: RunningRegistry | undefined;
let port = 0;
const start = async () => {
  server = await startRegistry({
    port,
    leaseTtlMs: TTL,
    renewIntervalMs: TTL / 3,
    evictionIntervalMs: 100,
    // Tests abandon leases on purpose; a partition detector would rightly stop evicting them.
    selfPreservation: false,
  });
  port = server.port;
};

registryContract('embedded', {
  ttlMs: TTL,
  setup: start,
  teardown: async () => server?.close(),
  create: async () => embeddedRegistry({ url: `http://127.0.0.1:${port}`, backoff: { maxMs: 500 } }),
  restartBackend: async () => {
    await server?.close();
    await start();
  },
});
