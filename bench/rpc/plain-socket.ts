import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * The ceiling: the simplest fast RPC one would write by hand, with no framework around it.
 * Frame = length(4, counts what follows) + call id(4) + UTF-8 JSON. Many calls are multiplexed
 * on one socket by id; frames produced in one tick leave in one write (flushed on
 * process.nextTick, which runs after the microtasks that produced them), and replies to one
 * incoming chunk leave in one write.
 */
const HEAD = 8;

/** Splits a byte stream into (id, body) frames; keeps at most one partial frame. */
class Splitter {
  private rest: Buffer | undefined;

  push(chunk: Buffer, onFrame: (id: number, body: Buffer) => void): void {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = undefined;
    let o = 0;
    while (buf.length - o >= HEAD) {
      const end = o + 4 + buf.readUInt32BE(o);
      if (end > buf.length) break;
      onFrame(buf.readUInt32BE(o + 4), buf.subarray(o + HEAD, end));
      o = end;
    }
    if (o < buf.length) this.rest = buf.subarray(o);
  }
}

function frame(id: number, value: unknown): Buffer {
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json);
  const buf = Buffer.allocUnsafe(HEAD + bytes);
  buf.writeUInt32BE(4 + bytes, 0);
  buf.writeUInt32BE(id, 4);
  buf.write(json, HEAD, 'utf8');
  return buf;
}

/** An echo server: every request's JSON is decoded and its value encoded back. */
export function createPlainServer(): Server {
  return createServer({ noDelay: true }, (socket) => {
    const splitter = new Splitter();
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      const out: Buffer[] = [];
      let bytes = 0;
      splitter.push(chunk, (id, body) => {
        const reply = frame(id, JSON.parse(body.toString('utf8')));
        out.push(reply);
        bytes += reply.length;
      });
      if (out.length === 1) socket.write(out[0]!);
      else if (out.length > 1) socket.write(Buffer.concat(out, bytes));
    });
  });
}

interface Waiter {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export interface PlainClient {
  call(value: unknown): Promise<unknown>;
  close(): void;
}

export function connectPlain(port: number, host = '127.0.0.1'): Promise<PlainClient> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ port, host, noDelay: true });
    const waiting = new Map<number, Waiter>();
    const splitter = new Splitter();
    let queue: Buffer[] = [];
    let queued = 0;
    let nextId = 1;
    const flush = () => {
      const data = queue.length === 1 ? queue[0]! : Buffer.concat(queue, queued);
      queue = [];
      queued = 0;
      socket.write(data);
    };
    socket.on('data', (chunk: Buffer) =>
      splitter.push(chunk, (id, body) => {
        const w = waiting.get(id);
        if (!w) return;
        waiting.delete(id);
        w.resolve(JSON.parse(body.toString('utf8')));
      }),
    );
    socket.on('close', () => {
      for (const w of waiting.values()) w.reject(new Error('connection closed'));
      waiting.clear();
    });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve({
        call(value) {
          const id = nextId++;
          const buf = frame(id, value);
          if (queue.length === 0) process.nextTick(flush);
          queue.push(buf);
          queued += buf.length;
          return new Promise((res, rej) => waiting.set(id, { resolve: res, reject: rej }));
        },
        close: () => socket.end(),
      });
    });
  });
}
