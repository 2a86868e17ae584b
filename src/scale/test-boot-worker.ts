// A runInstance child for worker.test.ts that boots slowly on purpose, so a test can act
// during its boot: it reports `warming` and warms up for BOOT_WARMUP_MS, then registers
// with a registry that records the instance at once but answers BOOT_ACK_MS late
// (reporting `registered` in between). Environment: TENSILE_REGISTRY_URL (required).
import { embeddedRegistry } from '../registry/embedded/client.js';
import type { Registry } from '../registry/registry.js';
import { DemoService, demoHandlers } from './demo/demo-service.js';
import { runInstance } from './worker.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const tell = (fixture: string) => process.connected && process.send?.({ fixture });
const inner = embeddedRegistry({ url: process.env.TENSILE_REGISTRY_URL! });
const registry: Registry = {
  async register(instance) {
    const registration = await inner.register(instance);
    tell('registered');
    await sleep(Number(process.env.BOOT_ACK_MS ?? 0));
    return registration;
  },
  services: () => inner.services(),
  instances: (service) => inner.instances(service),
  watch: (service, onChange) => inner.watch(service, onChange),
  close: () => inner.close(),
};

await runInstance({
  service: DemoService,
  handlers: demoHandlers({ concurrency: 4, workMs: 5 }),
  registry,
  deregisterDelayMs: 50,
  warmup: async () => {
    tell('warming');
    await sleep(Number(process.env.BOOT_WARMUP_MS ?? 0));
  },
});
