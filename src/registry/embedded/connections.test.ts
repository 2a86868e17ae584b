import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../registry.case.js';
import { type RunningRegistry, startRegistry } from './server.js';

const running: RunningRegistry[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(running.splice(0).map((r) => r.close()));
});

/** A keep-alive connection that sent one health request; resolves with what came back before close or 2 s. */
function probe(port: number): Promise<{ socket: Socket; reply: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    let reply = '';
    let closed = false;
    const done = () => resolve({ socket, reply, closed });
    socket.on('data', (d) => {
      reply += d.toString('latin1');
      if (reply.includes('"status":"UP"')) done();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      done();
    });
    socket.on('connect', () => socket.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n'));
    setTimeout(() => reject(new Error(`no answer and no close: ${JSON.stringify(reply)}`)), 10_000).unref();
  });
}

describe('registry connection cap', () => {
  it('closes connections beyond maxConnections and takes new ones when a slot frees', async () => {
    const reg = await startRegistry({ maxConnections: 2, dashboard: false });
    running.push(reg);
    const [a, b] = [await probe(reg.port), await probe(reg.port)];
    expect([a.reply, b.reply]).toEqual([
      expect.stringMatching(/^HTTP\/1.1 200/),
      expect.stringMatching(/^HTTP\/1.1 200/),
    ]);
    const refused = await probe(reg.port);
    expect(refused).toMatchObject({ reply: '', closed: true });
    a.socket.destroy();
    // The server notices the close asynchronously: poll with a bound.
    await waitFor(async () => (await probe(reg.port)).reply.startsWith('HTTP/1.1 200'), 5_000);
  });

  it('defaults above maxSubscribers and rejects nonsense', async () => {
    await expect(startRegistry({ maxConnections: 0 })).rejects.toThrow(/maxConnections/);
    const reg = await startRegistry({ maxSubscribers: 10, dashboard: false });
    running.push(reg);
    const several = await Promise.all(Array.from({ length: 20 }, () => probe(reg.port)));
    expect(several.every((p) => p.reply.startsWith('HTTP/1.1 200'))).toBe(true);
  });
});
