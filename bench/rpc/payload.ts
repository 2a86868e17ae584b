/** The echo payload every system sends and receives: a small object, as in a typical API call. */
export const PAYLOAD = { id: 42, name: 'tensile', tags: ['a', 'b'], nested: { ok: true, score: 1.5 } };

export type Payload = typeof PAYLOAD;

/** The systems compared; each has a server process and a client adapter. */
export const SYSTEMS = ['tensile-json', 'tensile-msgpack', 'plain-socket', 'grpc-js'] as const;
export type SystemName = (typeof SYSTEMS)[number];

/** Which server process script serves a system (both Tensile codecs share one server). */
export function serverScript(system: SystemName): string {
  switch (system) {
    case 'tensile-json':
    case 'tensile-msgpack':
      return 'tensile.ts';
    case 'plain-socket':
      return 'plain-socket.ts';
    case 'grpc-js':
      return 'grpc.ts';
  }
}
