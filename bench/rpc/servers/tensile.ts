import { createServer } from '../../../src/server/server.js';
import { Echo } from '../contract.js';
import { serveUntilStopped } from '../ipc.js';

// Serves both Tensile rows: the client chooses JSON or MessagePack in the handshake.

await serveUntilStopped(async () => {
  const server = createServer().implement(Echo, { echo: async (input) => input });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  return { port, close: () => server.close({ graceMs: 500 }) };
});
