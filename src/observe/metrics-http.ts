import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsHandlerOptions {
  /** Request path served; default `/metrics`. Other paths get 404. */
  path?: string;
}

/**
 * A node:http request listener answering GET `/metrics` with the registry's exposition text,
 * to mount on an existing HTTP server (the embedded registry's, an app's) or serve alone.
 */
export function metricsHandler(registry: Registry, options: MetricsHandlerOptions = {}): RequestListener {
  const path = options.path ?? '/metrics';
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q === -1 ? url : url.slice(0, q)) !== path) return reply(res, 404, 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return reply(res, 405, 'method not allowed\n');
    }
    collect(registry).then(
      (text) => {
        res.setHeader('content-type', registry.contentType);
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => reply(res, 500, `cannot collect metrics: ${(err as Error)?.message ?? err}\n`),
    );
  };
}

/**
 * The exposition text. When some metric's collect function throws, the others are still
 * served: one broken source must not blind the whole scrape.
 */
async function collect(registry: Registry): Promise<string> {
  try {
    return await registry.metrics();
  } catch {
    const texts = await Promise.all(
      registry
        .getMetricsAsArray()
        .map((m) => registry.getSingleMetricAsString(m.name).catch(() => undefined)),
    );
    const served = texts.filter((t): t is string => t !== undefined);
    return registry.contentType.startsWith('application/openmetrics-text')
      ? `${served.join('\n')}\n# EOF\n`
      : `${served.join('\n\n')}\n`;
  }
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(text);
}

export interface ServeMetricsOptions extends MetricsHandlerOptions {
  registry: Registry;
  /** Default 0: any free port (read it from the result). Prometheus exporters often use 9464. */
  port?: number;
  /** Default 127.0.0.1; use 0.0.0.0 for a scraper on another host. */
  host?: string;
}

export interface MetricsServer {
  /** `http://host:port/metrics` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts a small HTTP server that only serves `/metrics`. Opt-in: nothing listens unless called. */
export async function serveMetrics(options: ServeMetricsOptions): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer(metricsHandler(options.registry, options));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${hostPart}:${port}${options.path ?? '/metrics'}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Scrapers keep connections alive; don't let them hold the shutdown.
        server.closeIdleConnections();
      }),
  };
}
