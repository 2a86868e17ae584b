import { serveUntilStopped } from '../ipc.js';
import { createPlainServer } from '../plain-socket.js';

await serveUntilStopped(async () => {
  const server = createPlainServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('unexpected listen address');
  return {
    port: address.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
});
