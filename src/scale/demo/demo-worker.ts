// Entry module of one demo instance, started by a process pool:
// TENSILE_REGISTRY_URL names the registry; DEMO_CONCURRENCY and DEMO_WORK_MS size the instance.
import { runInstance } from '../worker.js';
import { DemoService, demoHandlers } from './demo-service.js';

const concurrency = Number(process.env.DEMO_CONCURRENCY ?? 8);
const workMs = Number(process.env.DEMO_WORK_MS ?? 50);

await runInstance({
  service: DemoService,
  handlers: demoHandlers({ concurrency, workMs }),
  capacity: concurrency,
  ...(process.env.DEMO_DEREGISTER_DELAY_MS
    ? { deregisterDelayMs: Number(process.env.DEMO_DEREGISTER_DELAY_MS) }
    : {}),
});
