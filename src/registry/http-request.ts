import { Agent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { TokenSource } from '../security/credentials.js';
import type { ClientTlsOptions } from '../security/tls-options.js';

export interface HttpReply {
  status: number;
  text: string;
}

/** Small HTTP(S) client for registry backends: keep-alive agents, a CA for https, a bearer token. */
export function httpClient(options: { tls?: ClientTlsOptions; token?: TokenSource; timeoutMs: number }) {
  const t = options.tls ?? {};
  const agents = {
    http: new Agent({ keepAlive: true, maxSockets: 16 }),
    https: new HttpsAgent({
      keepAlive: true,
      maxSockets: 16,
      ...(t.ca === undefined ? {} : { ca: t.ca }),
      ...(t.cert === undefined ? {} : { cert: t.cert }),
      ...(t.key === undefined ? {} : { key: t.key }),
      ...(t.passphrase === undefined ? {} : { passphrase: t.passphrase }),
      ...(t.servername === undefined ? {} : { servername: t.servername }),
      minVersion: t.minVersion ?? 'TLSv1.2',
      rejectUnauthorized: t.rejectUnauthorized ?? true,
    }),
  };
  const send = async (
    method: string,
    url: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<HttpReply> => {
    const token = typeof options.token === 'function' ? await options.token() : options.token;
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(target, {
        method,
        agent: secure ? agents.https : agents.http,
        timeout: options.timeoutMs,
        headers: {
          ...headers,
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          'content-length': body === undefined ? 0 : Buffer.byteLength(body),
        },
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`request timed out after ${options.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  };
  return {
    send,
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
