import { connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Client, createClient } from '../client/client.js';
import { RpcError } from '../core/errors.js';
import { createServer, type Server, type ServerOptions } from '../server/server.js';
import { Greeter } from '../test/greeter.js';
import { decodeGoAway, type Frame, FrameType } from '../wire/frame.js';
import { encodeClientHello, PROTOCOL_VERSION, SERVER_HELLO_BYTES } from '../wire/handshake.js';
import { onServerFrames } from '../wire/test-server-frames.js';
import { createTestPki } from './test-certs.js';

const pki = createTestPki();
afterAll(() => pki.ca.dispose());
const servers: Server[] = [];
const sockets = new Set<Socket>();
const clients: Client<typeof Greeter>[] = [];
const stops: (() => void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close({ graceMs: 100 })));
});

async function start(options: ServerOptions = {}, tls = false) {
  const server = createServer(options).implement(Greeter, {
    async sayHello({ name }) {
      return { message: `hello ${name}` };
    },
    echo: async (x) => x,
    sleep: ({ ms }) => new Promise((r) => setTimeout(() => r({ aborted: false }), ms)),
    fail: async () => {
      throw new Error('x');
    },
  });
  servers.push(server);
  const listening = await server.listen(tls ? { tls: { key: pki.server.key, cert: pki.server.cert } } : {});
  return { server, ...listening };
}
function client(address: string) {
  const c = createClient(Greeter, { addresses: [address], timeoutMs: 10_000 });
  clients.push(c);
  return c;
}
function open(port: number, allowHalfOpen = false): Socket {
  const s = connect({ host: '127.0.0.1', port, allowHalfOpen });
  s.on('error', () => {});
  sockets.add(s);
  s.once('close', () => sockets.delete(s));
  return s;
}
const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

/** Keeps `n` attacker connections alive, replacing each as the server closes it. */
function attack(port: number, n: number, behave: (s: Socket) => void) {
  let stopped = false;
  let opened = 0;
  const one = () => {
    if (stopped) return;
    const s = open(port);
    opened++;
    behave(s);
    s.once('close', () => setImmediate(one));
  };
  for (let i = 0; i < n; i++) one();
  const stop = () => {
    stopped = true;
  };
  stops.push(stop);
  return { opened: () => opened, stop };
}

async function sequentialCalls(c: Client<typeof Greeter>, n: number) {
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const reply = await c.sayHello({ name: `n${i}` });
    if (reply.message === `hello n${i}`) ok++;
  }
  return ok;
}

describe('slow and flooding clients', () => {
  it('slowloris: clients trickling a handshake are cut off and well-behaved clients keep completing calls', async () => {
    const { port, address, server } = await start({ handshakeTimeoutMs: 300, maxConnections: 64 });
    const early = client(address);
    await early.sayHello({ name: 'warm' });
    const hello = encodeClientHello({ version: PROTOCOL_VERSION, codec: 'json' });
    const attackers = attack(port, 100, (s) => {
      let i = 0;
      const t = setInterval(() => {
        // Never the last byte: the handshake stays incomplete forever.
        if (!s.destroyed && i < hello.length - 1) s.write(hello.subarray(i, ++i));
      }, 50);
      s.once('close', () => clearInterval(t));
    });
    expect(await sequentialCalls(early, 50)).toBe(50);
    // A client that arrives during the attack gets a slot as handshake timeouts free them.
    const late = client(address);
    expect(await sequentialCalls(late, 20)).toBe(20);
    // Attackers were cut off (timeout or eviction) and came back, again and again.
    expect(attackers.opened()).toBeGreaterThan(100);
    // Once attackers stop coming back, the ones left are cut too; the two clients keep theirs.
    attackers.stop();
    await expect.poll(() => server.connections, { timeout: 5_000 }).toBe(2);
  });

  it('slowloris on TLS: an unfinished TLS handshake is cut off too', async () => {
    const { port } = await start({ handshakeTimeoutMs: 300 }, true);
    const s = open(port);
    let serverEnded = false;
    s.once('end', () => {
      serverEnded = true;
    });
    s.write(Buffer.from([0x16, 0x03, 0x01, 0x00])); // the start of a ClientHello record, never finished
    await closed(s);
    // The server hung up (FIN), not an error on our side.
    expect(serverEnded).toBe(true);
  });

  it('close() does not wait for a connection stuck in its TLS handshake', async () => {
    const { port, server } = await start({}, true); // handshakeTimeoutMs 10 s
    const raw = open(port);
    await new Promise((r) => raw.once('connect', r));
    // A TLS client whose replies never reach it: it sends its ClientHello, then stalls.
    const stalled = new Duplex({
      read() {},
      write(chunk, _encoding, callback) {
        raw.write(chunk, callback);
      },
    });
    const s = tlsConnect({ socket: stalled, servername: 'localhost', rejectUnauthorized: false });
    s.on('error', () => {});
    await new Promise((r) => raw.once('data', r)); // the server is in the handshake with us
    const outcome = await Promise.race([
      server.close({ graceMs: 100 }).then(() => 'closed'),
      new Promise((r) => setTimeout(() => r('still waiting after 3 s'), 3_000)),
    ]);
    expect(outcome).toBe('closed');
    await closed(raw);
  });

  it('on TLS, handshakeTimeoutMs covers the TLS and the Tensile handshake together', async () => {
    const { port } = await start({ handshakeTimeoutMs: 1_500 }, true);
    const started = performance.now();
    const raw = open(port);
    await new Promise((r) => setTimeout(r, 1_000));
    // The TLS handshake uses 1 s of the 1.5 s, then the peer never sends its Tensile hello.
    const s = tlsConnect({ socket: raw, ca: pki.ca.cert, servername: 'localhost' });
    s.on('error', () => {});
    await new Promise((r) => s.once('secureConnect', r));
    await closed(s);
    // Cut 1.5 s after connecting. A fresh 1.5 s for the hello would close at 2.5 s at the earliest.
    expect(performance.now() - started).toBeLessThan(2_500);
  });

  it('connection flood: hundreds of connect-and-garbage clients do not stop calls', async () => {
    const { port, address } = await start({ maxConnections: 256 });
    const c = client(address);
    await c.sayHello({ name: 'warm' });
    const flooders = attack(port, 200, (s) => {
      s.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => c.echo(i)));
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(await sequentialCalls(client(address), 20)).toBe(20);
    expect(flooders.opened()).toBeGreaterThan(200);
  });
});

describe('connection limits', () => {
  const handshaken = async (port: number) => {
    const s = open(port);
    s.write(encodeClientHello({ version: PROTOCOL_VERSION, codec: 'json' }));
    const reply = await new Promise<Buffer | undefined>((r) => {
      s.once('data', r);
      s.once('close', () => r(undefined));
    });
    expect(reply, 'closed without a reply').toBeDefined();
    expect(reply!.length).toBeGreaterThanOrEqual(SERVER_HELLO_BYTES);
    return s;
  };

  it('at maxConnections, refuses newcomers when every slot is an established client', async () => {
    const { port, server } = await start({ maxConnections: 3 });
    const held = [await handshaken(port), await handshaken(port), await handshaken(port)];
    const extra = open(port);
    await closed(extra);
    expect(held.every((s) => !s.destroyed)).toBe(true);
    held[0]!.destroy();
    await expect.poll(() => server.connections).toBe(2);
    await handshaken(port);
  });

  it('at maxConnections, a newcomer evicts the oldest connection still in its handshake', async () => {
    const { port } = await start({ maxConnections: 3 });
    const established = await handshaken(port);
    const slow = [open(port), open(port)];
    // Wait until the server has both slow sockets before the newcomer arrives.
    await new Promise((r) => setTimeout(r, 50));
    const newcomer = await handshaken(port);
    await closed(slow[0]!);
    expect([established.destroyed, slow[1]!.destroyed, newcomer.destroyed]).toEqual([false, false, false]);
  });

  it('at maxConnections, a newcomer evicts a connection the server has ended but the peer keeps open', async () => {
    const { port } = await start({ maxConnections: 2 });
    // Refused for their codec and ended by the server; the peers never close their side.
    const refused = [open(port, true), open(port, true)];
    for (const s of refused) s.write(encodeClientHello({ version: PROTOCOL_VERSION, codec: 'nope' }));
    await Promise.all(refused.map((s) => new Promise((r) => s.resume().once('end', r))));
    const newcomer = await handshaken(port);
    expect(newcomer.destroyed).toBe(false);
  });

  it('closes idle connections with GOAWAY; a call longer than the idle timeout is not cut', async () => {
    const { port, address } = await start({ idleTimeoutMs: 200 });
    const s = open(port);
    const frames: Frame[] = [];
    onServerFrames(s, (f) => frames.push(f));
    s.write(encodeClientHello({ version: PROTOCOL_VERSION, codec: 'json' }));
    await closed(s);
    expect(frames.map((f) => f.type)).toEqual([FrameType.GOAWAY]);
    expect(decodeGoAway(frames[0]!.body).reason).toBe('connection idle');

    // A call longer than the idle timeout is not cut: the connection is busy, not idle.
    const c = client(address);
    expect(await c.sleep({ ms: 500 })).toEqual({ aborted: false });
  });

  it('a client whose connection was closed for idleness reconnects for the next call', async () => {
    const server = createServer({ idleTimeoutMs: 200 }).implement(Greeter, {
      sayHello: async (_input, ctx) => ({ message: ctx.peer ?? '' }),
      echo: async (x) => x,
      sleep: async () => ({ aborted: false }),
      fail: async () => {
        throw new Error('x');
      },
    });
    servers.push(server);
    const { address } = await server.listen();
    const c = client(address);
    const first = (await c.sayHello({ name: 'a' })).message;
    // Polls slower than the idle timeout, so the connection goes idle between them.
    await expect
      .poll(async () => (await c.sayHello({ name: 'b' })).message, { interval: 500, timeout: 10_000 })
      .not.toBe(first);
  });

  it('rejects oversized metadata with RESOURCE_EXHAUSTED before any filter or handler runs', async () => {
    let ran = 0;
    const server = createServer({
      maxMetadataBytes: 100,
      filters: [
        (req, ctx, next) => {
          ran++;
          return next(req, ctx);
        },
      ],
    }).implement(Greeter, {
      sayHello: async () => ({ message: 'x' }),
      echo: async (x) => x,
      sleep: async () => ({ aborted: false }),
      fail: async () => {
        throw new Error('x');
      },
    });
    servers.push(server);
    const { address } = await server.listen();
    const c = createClient(Greeter, { addresses: [address], policies: false });
    clients.push(c);
    const err = await c.echo(1, { metadata: { big: 'x'.repeat(200) } }).catch((e: RpcError) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ code: 'RESOURCE_EXHAUSTED', mayHaveProcessed: false });
    expect((err as RpcError).message).toBe('request metadata is 203 bytes, over the limit of 100');
    expect(ran).toBe(0);
    expect(await c.echo(2, { metadata: { small: 'y' } })).toBe(2);
    expect(ran).toBe(1);
  });
});

describe('peers that never close their side', () => {
  const hello = (codec: string) => encodeClientHello({ version: PROTOCOL_VERSION, codec });

  it('a connection the server ended is destroyed even if the peer keeps its side open or never reads', async () => {
    const { port, address, server } = await start({
      maxConnections: 5,
      idleTimeoutMs: 200,
      handshakeTimeoutMs: 500,
    });
    // Half-open peers: the server's FIN does not make them close. Two finish the handshake and
    // go idle (GOAWAY, end), two are refused for their codec (hello with BAD_CODEC, end).
    const peers = ['json', 'json', 'nope', 'nope'].map((codec) => {
      const s = open(port, true);
      s.write(hello(codec));
      return s;
    });
    // One that never reads what the server sends, so it never even sees the FIN.
    const deaf = open(port);
    deaf.pause();
    deaf.write(hello('json'));
    await expect.poll(() => server.connections).toBe(5);
    await expect.poll(() => server.connections, { timeout: 5_000 }).toBe(0);
    // None of the peers closed its side: the server dropped them, and their slots serve a newcomer.
    expect(peers.filter((s) => s.writableEnded)).toEqual([]);
    expect(await sequentialCalls(client(address), 3)).toBe(3);
  });
});
