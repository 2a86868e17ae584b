import { createServer } from '../../src/server/server.js';
import { exitWithParent } from '../rpc/ipc.js';
import { Work, type WorkerCommand, type WorkerEvent } from './contract.js';

/**
 * One instance of the quality benchmark's fleet: each call waits `latencyMs` of simulated I/O
 * (a timer, so the process stays nearly idle) while holding one of `concurrency` slots; calls
 * beyond that wait in FIFO order. So an instance has a real capacity and a slow one builds a
 * queue, which is what a balancer that keeps sending to it is punished with. The parent sets
 * the figures after `ready` and may change them between runs.
 */

let name = 'unconfigured';
let latencyMs = 2;
let slots = 4;
let busy = 0;
const waiting: (() => void)[] = [];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function acquire(): Promise<void> {
  if (busy < slots) {
    busy++;
    return;
  }
  // The slot is handed over by release(), so busy stays counted.
  await new Promise<void>((resolve) => waiting.push(resolve));
}

function release(): void {
  const next = waiting.shift();
  if (next) next();
  else busy--;
}

const post = (message: WorkerEvent) => process.send!(message);

exitWithParent();
try {
  const server = createServer().implement(Work, {
    work: async () => {
      await acquire();
      try {
        await sleep(latencyMs);
      } finally {
        release();
      }
      return { instance: name };
    },
  });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  process.on('message', async (command: WorkerCommand) => {
    if (command.type === 'configure') {
      name = command.name;
      latencyMs = command.latencyMs;
      slots = command.concurrency;
      // Raising the limit lets queued calls in at once.
      while (busy < slots && waiting.length > 0) {
        busy++;
        waiting.shift()!();
      }
      post({ type: 'configured', name });
      return;
    }
    await Promise.race([server.close({ graceMs: 500 }), sleep(1_000)]);
    process.exit(0);
  });
  post({ type: 'ready', port });
} catch (err) {
  post({ type: 'error', message: (err as Error).stack ?? String(err) });
  process.exit(1);
}
