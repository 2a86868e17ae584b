import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../client/client.js';
import { createServer, type Server } from '../../server/server.js';
import { Greeter } from '../../test/greeter.js';
import { encodeMetadata, encodeRequest } from '../../wire/frame.js';
import { encodeClientHello, PROTOCOL_VERSION } from '../../wire/handshake.js';
import { fuzzRuns, liveHeapBytes } from './test-heap.js';

/**
 * A real server fed random and mutated byte streams over real TCP connections: every
 * connection ends (no hang), the process never crashes, and a well-behaved client keeps working.
 * Half the peers keep their side open and never close: the server alone must end those.
 */
let server: Server;
let port: number;
let address: string;
let handled = 0;
beforeAll(async () => {
  server = createServer({ maxFrameBytes: 8192, handshakeTimeoutMs: 1_000, idleTimeoutMs: 300 }).implement(
    Greeter,
    {
      async sayHello({ name }) {
        handled++;
        return { message: `hello ${name}` };
      },
      echo: async (x) => {
        handled++;
        return x;
      },
      sleep: async () => ({ aborted: false }),
      fail: async () => {
        throw new Error('x');
      },
    },
  );
  ({ port, address } = await server.listen());
});
const halfOpen: Socket[] = [];
afterAll(async () => {
  for (const s of halfOpen) s.destroy();
  await server.close({ graceMs: 100 });
});

/**
 * Sends bytes and resolves once the server has ended the connection. A closing peer half-closes
 * after its bytes and waits for the close; a half-open peer never closes its side (it is kept
 * open until the test ends) and waits for the server's FIN.
 */
function exchange(bytes: Buffer, keepOpen: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: keepOpen });
    if (keepOpen) halfOpen.push(s);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`server neither answered nor closed within 10 s for ${bytes.toString('hex')}`));
    }, 10_000);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    s.resume();
    s.on('error', () => {});
    s.once(keepOpen ? 'end' : 'close', done);
    if (keepOpen) s.once('close', done);
    if (keepOpen) s.write(bytes);
    else s.end(bytes);
  });
}

const hello = encodeClientHello({ version: PROTOCOL_VERSION, codec: 'json' });
const request = fc
  .tuple(
    fc.integer({ min: 1, max: 1000 }),
    fc.constantFrom('greeter/echo', 'greeter/sayHello', 'greeter/nope', ''),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.string({ maxLength: 10 }), { maxKeys: 3 }),
    fc.oneof(fc.json(), fc.string()),
  )
  .map(([id, m, md, p]) => encodeRequest(id, Buffer.from(m), 5_000, encodeMetadata(md), Buffer.from(p)));
const stream = fc.oneof(
  // Random bytes, with and without a valid hello first.
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.concat([hello, a])),
  // Valid requests with a few bytes flipped.
  fc
    .tuple(
      fc.array(request, { minLength: 1, maxLength: 3 }),
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }),
    )
    .map(([reqs, edits]) => {
      const body = Buffer.concat(reqs);
      for (const [at, byte] of edits) body[at % body.length] = byte;
      return Buffer.concat([hello, body]);
    }),
  // A frame type the client may not send.
  fc.nat(255).map((t) => Buffer.concat([hello, Buffer.from([0, 0, 0, 6, t, 0, 0, 0, 0, 1])])),
);

describe('fuzzing a live server over TCP', () => {
  it('every random or mutated stream ends cleanly and the server keeps serving', async () => {
    const heapBefore = liveHeapBytes();
    let n = 0;
    // Half-open peers that send a valid stream wait for the idle timeout: awaited at the end.
    const waiting: Promise<void>[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(stream, fc.boolean()), { minLength: 10, maxLength: 10 }),
        async (batch) => {
          n += batch.length;
          waiting.push(...batch.filter(([, keep]) => keep).map(([bytes]) => exchange(bytes, true)));
          await Promise.all(batch.filter(([, keep]) => !keep).map(([bytes]) => exchange(bytes, false)));
        },
      ),
      { numRuns: fuzzRuns(200) },
    );
    expect(n).toBe(fuzzRuns(200) * 10);
    await Promise.all(waiting);
    const client = createClient(Greeter, { addresses: [address], timeoutMs: 5_000 });
    try {
      expect(await client.sayHello({ name: 'after' })).toEqual({ message: 'hello after' });
    } finally {
      await client.close();
    }
    // Half-open peers never close their side: the server must destroy those connections itself.
    expect(halfOpen.length).toBeGreaterThan(n / 4);
    await expect.poll(() => server.connections, { timeout: 10_000 }).toBe(0);
    expect(handled).toBeGreaterThan(0);
    expect(liveHeapBytes() - heapBefore).toBeLessThan(32 * 1024 * 1024);
  }, 60_000);
});
