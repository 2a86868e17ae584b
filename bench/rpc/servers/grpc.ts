import { startGrpcServer } from '../grpc.js';
import { serveUntilStopped } from '../ipc.js';

await serveUntilStopped(async () => {
  const { server, port } = await startGrpcServer();
  return { port, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
});
