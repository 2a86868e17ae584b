import { createClient } from '../../src/client/client.js';
import { Echo } from './contract.js';
import { connectGrpc } from './grpc.js';
import type { SystemName } from './payload.js';
import { connectPlain } from './plain-socket.js';

/** What the load generator drives: one connection's worth of client, ready to call. */
export interface EchoClient {
  call(value: unknown): Promise<unknown>;
  close(): Promise<void> | void;
}

async function tensile(port: number, codec: 'json' | 'msgpack'): Promise<EchoClient> {
  const client = createClient(Echo, { addresses: [`127.0.0.1:${port}`], codec });
  // The endpoint dials eagerly; one call makes sure the handshake is done before timing starts.
  await client.echo({ id: 0, name: '', tags: [], nested: { ok: true, score: 0 } });
  return { call: (value) => client.echo(value as never), close: () => client.close() };
}

export function connectClient(system: SystemName, port: number): Promise<EchoClient> {
  switch (system) {
    case 'tensile-json':
      return tensile(port, 'json');
    case 'tensile-msgpack':
      return tensile(port, 'msgpack');
    case 'plain-socket':
      return connectPlain(port);
    case 'grpc-js':
      return connectGrpc(port);
  }
}
