/** Test helper: an HTTP server whose every answer the test scripts, to stage races and failures. */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedRequest {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly body: any;
}
export interface ScriptedReply {
  status: number;
  body?: unknown;
}
export type Script = (req: ScriptedRequest) => ScriptedReply | Promise<ScriptedReply>;

export interface ScriptedServer {
  readonly url: string;
  /** Every request in arrival order. */
  readonly log: ScriptedRequest[];
  close(): Promise<void>;
}

export async function scriptedServer(script: Script): Promise<ScriptedServer> {
  const log: ScriptedRequest[] = [];
  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? JSON.parse(text) : undefined;
  };
  const server = createServer((req, res) => {
    void (async () => {
      const entry = { method: req.method ?? 'GET', url: req.url ?? '/', body: await readBody(req) };
      log.push(entry);
      const reply = await script(entry);
      const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(text);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A promise with its resolver, to hold a scripted answer until the test releases it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}
