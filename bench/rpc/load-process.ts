import { connectClient } from './clients.js';
import { exitWithParent, type LoadCommand, send } from './ipc.js';
import { runClosedLoop } from './load.js';
import { PAYLOAD } from './payload.js';

// The client side of one measurement, in its own process so it never shares a CPU's event
// loop with the server: connect, run the closed loop, report, exit.
exitWithParent();
process.once('message', async (command: LoadCommand) => {
  try {
    const client = await connectClient(command.system, command.port);
    const reply = (await client.call(PAYLOAD)) as typeof PAYLOAD;
    if (JSON.stringify(reply) !== JSON.stringify(PAYLOAD))
      throw new Error(`echo mismatch: ${JSON.stringify(reply)}`);
    const result = await runClosedLoop(
      () => client.call(PAYLOAD),
      command,
      (edge) => void send({ type: 'window', edge }),
    );
    await Promise.race([client.close(), new Promise((r) => setTimeout(r, 1_000))]);
    await send({ type: 'result', result });
    process.exit(0);
  } catch (err) {
    await send({ type: 'error', message: (err as Error).stack ?? String(err) });
    process.exit(1);
  }
});
