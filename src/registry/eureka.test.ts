import { type RunningRegistry, startRegistry } from './embedded/server.js';
import { eurekaRegistry } from './eureka.js';
import { registryContract } from './registry.case.js';

const TTL = 1500;
let server: RunningRegistry | undefined;
let port = 0;
const start = async () => {
  server = await startRegistry({
    port,
    leaseTtlMs: TTL,
    renewIntervalMs: TTL / 3,
    evictionIntervalMs: 100,
    selfPreservation: false,
  });
  port = server.port;
};

registryContract('eureka (against the embedded registry)', {
  ttlMs: TTL,
  extraLatencyMs: 1000,
  setup: start,
  teardown: async () => server?.close(),
  create: async ({ ttlMs }) =>
    eurekaRegistry({
      serviceUrl: `http://127.0.0.1:${port}/eureka`,
      renewIntervalMs: ttlMs / 3,
      leaseDurationMs: ttlMs,
      pollIntervalMs: 100,
    }),
  restartBackend: async () => {
    await server?.close();
    await start();
  },
});
