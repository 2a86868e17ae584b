import { CliError, type Command, ExitCode, parse, parseDuration, parseInteger } from '../command.js';

/** Listen failures a user can fix, reported in one line instead of a stack trace. */
const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'the port is in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'no such local address',
};

export const registryCommand: Command = {
  name: 'registry',
  summary: 'start the embedded registry (Tensile API with push, Eureka REST API, live dashboard)',
  usage: `tensile registry [options]

Starts the embedded registry and serves until interrupted.

Options:
  --host <host>        listen address (default 127.0.0.1)
  --port <port>        listen port (default 8761, 0 for any free port)
  --lease-ttl <dur>    a lease lapses this long after its last renewal (default 10s)
  --renew <dur>        renew interval clients are told to use (default 3s)
  --no-self-preservation   always evict expired leases
  --no-dashboard       do not serve the live dashboard at /dashboard/
  --metrics            serve Prometheus metrics at /metrics (registry size, lease renewals)`,
  async run(argv, io) {
    const { values } = parse(
      'registry',
      argv,
      {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '8761' },
        'lease-ttl': { type: 'string', default: '10s' },
        renew: { type: 'string', default: '3s' },
        'no-self-preservation': { type: 'boolean', default: false },
        'no-dashboard': { type: 'boolean', default: false },
        metrics: { type: 'boolean', default: false },
      },
      false,
    );
    if (values.help) {
      io.out.write(`${this.usage}\n`);
      return 0;
    }
    const port = parseInteger(values.port, '--port', 0, 65535);
    const leaseTtlMs = parseDuration(values['lease-ttl'], '--lease-ttl');
    const renewIntervalMs = parseDuration(values.renew, '--renew');
    if (renewIntervalMs <= 0) throw new CliError('registry: --renew must be above 0');
    // A lease must outlive at least one renewal; startRegistry would throw a RangeError.
    if (renewIntervalMs >= leaseTtlMs)
      throw new CliError(
        `registry: --renew (${values.renew}) must be shorter than --lease-ttl (${values['lease-ttl']})`,
      );
    const { startRegistry } = await import('../../registry/embedded/server.js');
    const registry = await startRegistry({
      host: values.host,
      port,
      leaseTtlMs,
      renewIntervalMs,
      ...(values['no-self-preservation'] ? { selfPreservation: false as const } : {}),
      dashboard: !values['no-dashboard'],
      metrics: values.metrics,
      logger: { info: (m) => io.err.write(`${m}\n`), warn: (m) => io.err.write(`warning: ${m}\n`) },
    }).catch((err: NodeJS.ErrnoException) => {
      const why = LISTEN_ERRORS[err?.code ?? ''];
      if (why)
        throw new CliError(`registry: cannot listen on ${values.host}:${port}: ${why}`, ExitCode.FAILURE);
      throw err;
    });
    io.out.write(`registry listening on ${registry.url}\n`);
    io.out.write(`  Tensile API ${registry.url}/v1/services   Eureka API ${registry.url}/eureka/apps\n`);
    if (registry.dashboard) io.out.write(`  Dashboard   ${registry.url}${registry.dashboard.path}\n`);
    if (registry.metrics) io.out.write(`  Metrics     ${registry.url}/metrics\n`);
    await io.interrupted;
    io.err.write('stopping registry\n');
    await registry.close();
    return 0;
  },
};
