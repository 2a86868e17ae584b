import * as grpc from '@grpc/grpc-js';

/**
 * gRPC with the same JSON payload as the other rows: a hand-written service definition whose
 * (de)serialisers are JSON over UTF-8, so the comparison is about the transport (HTTP/2 and
 * grpc-js), not about protobuf versus JSON.
 */
const serialize = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');
const deserialize = (bytes: Buffer): unknown => JSON.parse(bytes.toString('utf8'));

export const ECHO_PATH = '/bench.Echo/Echo';

export const echoService: grpc.ServiceDefinition = {
  echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
  },
};

export function startGrpcServer(host = '127.0.0.1'): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(echoService, {
    echo: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, call.request),
  });
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve({ server, port }),
    );
  });
}

export interface GrpcClient {
  call(value: unknown): Promise<unknown>;
  close(): void;
}

/** One channel (one HTTP/2 connection), like the single multiplexed connection of the other rows. */
export async function connectGrpc(port: number, host = '127.0.0.1'): Promise<GrpcClient> {
  const client = new grpc.Client(`${host}:${port}`, grpc.credentials.createInsecure());
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 5_000, (err) => (err ? reject(err) : resolve())),
  );
  return {
    call: (value) =>
      new Promise((resolve, reject) =>
        client.makeUnaryRequest(ECHO_PATH, serialize, deserialize, value, (err, reply) =>
          err ? reject(err) : resolve(reply),
        ),
      ),
    close: () => client.close(),
  };
}
