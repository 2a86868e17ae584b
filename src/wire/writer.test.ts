import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FrameWriter } from './writer.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

async function socketPair(): Promise<{ ours: Socket; theirs: Socket }> {
  const server = createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection');
  const theirs = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const [ours] = (await accepted) as [Socket];
  cleanup.push(() => {
    ours.destroy();
    theirs.destroy();
    server.close();
  });
  return { ours, theirs };
}

describe('FrameWriter', () => {
  it('coalesces the frames of one tick into one write', async () => {
    const { ours, theirs } = await socketPair();
    const writer = new FrameWriter(ours);
    const writes = vi.spyOn(ours, 'write');
    const chunks: Buffer[] = [];
    theirs.on('data', (c: Buffer) => chunks.push(c));
    for (let i = 0; i < 10; i++) writer.write(Buffer.from([i]));
    await expect.poll(() => Buffer.concat(chunks).length).toBe(10);
    expect(Buffer.concat(chunks)).toEqual(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(writes).toHaveBeenCalledTimes(1);
  });

  it('drops frames queued after our side ended instead of destroying the socket, so it still reads', async () => {
    const { ours, theirs } = await socketPair();
    const writer = new FrameWriter(ours);
    const errors: Error[] = [];
    ours.on('error', (e) => errors.push(e));
    writer.write(Buffer.from('last'));
    writer.flush();
    ours.end();
    writer.write(Buffer.from('too late'));
    writer.flush();
    const received: Buffer[] = [];
    ours.on('data', (c: Buffer) => received.push(c));
    theirs.write('still talking');
    await expect.poll(() => Buffer.concat(received).toString()).toBe('still talking');
    expect(errors).toEqual([]);
    expect(ours.destroyed).toBe(false);
    const got: Buffer[] = [];
    theirs.on('data', (c: Buffer) => got.push(c));
    await once(theirs, 'end');
    expect(Buffer.concat(got).toString()).toBe('last');
  });
});
