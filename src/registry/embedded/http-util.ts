import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Principal } from '../../security/principal.js';
import type { AccessTarget } from './access.js';

/** An error with an HTTP status, rendered as `{ error: { status, message } }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(text ? { 'content-type': 'application/json' } : {}),
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Sockets whose last response said `connection: close`: nothing may follow it on the wire. */
const closing = new WeakSet<object>();

export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err.headers.connection === 'close' && res.socket) closing.add(res.socket);
  sendJson(res, err.status, { error: { status: err.status, message: err.message } }, err.headers);
}

/**
 * Reads a body of at most `maxBytes`: rejects early on a large Content-Length, counts
 * streamed bytes otherwise, and stops reading (413) as soon as the limit is crossed.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  const tooLarge = () =>
    new HttpError(413, `request body exceeds ${maxBytes} bytes`, { connection: 'close' });
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new HttpError(400, `could not read request body: ${err.message}`));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** Parses a JSON object body; anything else is a 400 that says why. */
export async function readJson(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const type = String(req.headers['content-type'] ?? 'application/json');
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    throw new HttpError(415, `expected Content-Type application/json, got ${type}`);
  }
  const raw = await readBody(req, maxBytes);
  if (raw.length === 0) throw new HttpError(400, 'request body is empty; expected a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `malformed JSON: ${(err as Error).message}`);
  }
  if (!isObject(value)) throw new HttpError(400, 'expected a JSON object');
  return value;
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Who asked, as access control found: anonymous and `mayRead` when the registry has no `auth`. */
export interface Caller {
  readonly principal?: Principal | undefined;
  /** Reads are open to this caller (no `protectReads`, or authenticated and authorized). */
  readonly mayRead: boolean;
}
export const ANONYMOUS: Caller = { mayRead: true };

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: string[],
  url: URL,
  caller: Caller,
) => unknown;
export interface Route {
  readonly pattern: RegExp;
  readonly methods: Readonly<Record<string, Handler>>;
  /**
   * What a request on this route touches, from the decoded parameters, for authorization: one
   * target per service. Default: a read spanning services.
   */
  readonly access?: (method: string, params: readonly string[], url: URL) => readonly AccessTarget[];
}

export interface Match {
  handler: Handler;
  params: string[];
  targets: () => readonly AccessTarget[];
}

const LIST: readonly AccessTarget[] = [{ operation: 'list' }];

/** Finds the route for a path: 404 when no pattern matches, 405 (with Allow) for another method. */
export function match(routes: readonly Route[], method: string, url: URL): Match | undefined {
  const path = url.pathname;
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    const handler = route.methods[method] ?? (method === 'HEAD' ? route.methods.GET : undefined);
    if (!handler) {
      const allow = Object.keys(route.methods).join(', ');
      throw new HttpError(405, `method ${method} not allowed on ${path}; allowed: ${allow}`, { allow });
    }
    let params: string[];
    try {
      params = m.slice(1).map((p) => decodeURIComponent(p));
    } catch {
      throw new HttpError(400, `malformed percent-encoding in ${path}`);
    }
    const { access } = route;
    return { handler, params, targets: access ? () => access(method, params, url) : () => LIST };
  }
  return undefined;
}

export const str = (body: Record<string, unknown>, key: string, required = false): string | undefined => {
  const v = body[key];
  if (v === undefined || v === null) {
    if (required) throw new HttpError(400, `missing required field "${key}"`);
    return undefined;
  }
  if (typeof v !== 'string' && typeof v !== 'number')
    throw new HttpError(400, `field "${key}" must be a string`);
  return String(v);
};

/**
 * For the server's 'clientError': a request Node's parser rejects (bad header bytes, broken
 * chunking, headers too large, timeouts) gets the same JSON error shape as every other error.
 */
export function rejectMalformed(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A response already in flight on this socket cannot be followed by another one.
  const busy = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (err.code === 'ECONNRESET' || !socket.writable || busy || closing.has(socket)) {
    socket.destroy();
    return;
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = JSON.stringify({
    error: { status, message: `malformed HTTP request: ${err.code ?? 'parse error'}` },
  });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * The request target as a URL. Always path-relative: a target such as `//host/x` must not
 * be read as a protocol-relative URL (which throws, or names another host).
 */
export function requestUrl(req: IncomingMessage): URL {
  const target = req.url ?? '/';
  try {
    return new URL(`http://registry${target.startsWith('/') ? '' : '/'}${target}`);
  } catch {
    throw new HttpError(400, `malformed request target ${JSON.stringify(target.slice(0, 200))}`);
  }
}
