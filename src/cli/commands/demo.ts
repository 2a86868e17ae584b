import { CliError, type Command, ExitCode, parse, parseDuration, parseInteger } from '../command.js';

function parseNumber(value: string, what: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw new CliError(
      `demo: ${what} must be a number between ${min} and ${max}, got ${JSON.stringify(value)}`,
    );
  return n;
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'the elastic demo: a fleet that scales out under a 10× load step and back in (no setup)',
  usage: `tensile demo [options]

Starts the embedded registry, a demo service whose instances each serve 8 calls at once
(50 ms each, 160 calls/s per instance), the autoscaler with a local process pool, and a
load generator: warm-up at the base rate, a ramp to 10× the base, a hold, a ramp down and
a low tail in which the fleet scales back in. Prints progress every second, every scaling
decision with its reason, and a summary. About 65 s; Ctrl-C stops early and still reports
(while it is still starting, it stops at once and exits 130).
Exit code 0 when no call failed, 1 otherwise.

Options:
  --quick                 a ~30 s variant (shorter phases, 30 calls/s base, at most 6 instances)
  --duration <dur>        total length of the load, e.g. 2m (stretches every phase)
  --scale <x>             multiply every phase's length by x (e.g. 2 or 0.5)
  --rate <calls/s>        base rate (default 60, or 30 with --quick)
  --peak <x>              peak as a multiple of the base rate (default 10)
  --target-inflight <n>   calls in flight per instance the autoscaler holds (default 4.8)
  --target-p99 <dur>      client p99 objective of the summary (default 150ms); when given
                          it is also a scaling signal next to in-flight calls
  --min <n>               fewest instances (default 1)
  --max <n>               most instances (default 10, or 6 with --quick)
  --registry-port <port>  port of the embedded registry and its dashboard (default: any free port)`,
  async run(argv, io) {
    const { values } = parse(
      'demo',
      argv,
      {
        quick: { type: 'boolean', default: false },
        duration: { type: 'string' },
        scale: { type: 'string' },
        rate: { type: 'string' },
        peak: { type: 'string', default: '10' },
        'target-inflight': { type: 'string' },
        'target-p99': { type: 'string' },
        min: { type: 'string', default: '1' },
        max: { type: 'string' },
        'registry-port': { type: 'string' },
      },
      false,
    );
    if (values.help) {
      io.out.write(`${this.usage}\n`);
      return ExitCode.OK;
    }
    const quick = values.quick;
    const { scenarioSeconds } = await import('../../scale/demo/scenario.js');
    if (values.duration !== undefined && values.scale !== undefined)
      throw new CliError('demo: give --duration or --scale, not both');
    let scale = 1;
    if (values.scale !== undefined) scale = parseNumber(values.scale, '--scale', 0.1, 100);
    if (values.duration !== undefined) {
      const ms = parseDuration(values.duration, '--duration');
      const min = scenarioSeconds(quick) * 100;
      if (ms < min)
        throw new CliError(`demo: --duration must be at least ${min / 1000}s, got ${values.duration}`);
      scale = ms / 1000 / scenarioSeconds(quick);
    }
    const minReplicas = parseInteger(values.min, '--min', 1, 50);
    const maxReplicas =
      values.max === undefined
        ? Math.max(minReplicas, quick ? 6 : 10)
        : parseInteger(values.max, '--max', 1, 50);
    if (maxReplicas < minReplicas)
      throw new CliError(`demo: --max (${maxReplicas}) must be at least --min (${minReplicas})`);
    const targetP99 = values['target-p99'];
    const options = {
      quick,
      scale,
      baseRate: values.rate === undefined ? (quick ? 30 : 60) : parseNumber(values.rate, '--rate', 1, 5_000),
      peak: parseNumber(values.peak, '--peak', 1, 100),
      minReplicas,
      maxReplicas,
      ...(values['target-inflight'] === undefined
        ? {}
        : { targetInflight: parseNumber(values['target-inflight'], '--target-inflight', 0.1, 1_000) }),
      ...(targetP99 === undefined
        ? {}
        : { targetP99Ms: parseDuration(targetP99, '--target-p99'), p99AsSignal: true }),
      ...(values['registry-port'] === undefined
        ? {}
        : { registryPort: parseInteger(values['registry-port'], '--registry-port', 0, 65_535) }),
    };
    if (options.targetP99Ms === 0) throw new CliError('demo: --target-p99 must be above 0');
    const { runDemo } = await import('../../scale/demo/run.js');
    const result = await runDemo({ ...options, out: io.out, interrupted: io.interrupted }).catch((err) => {
      if ((err as NodeJS.ErrnoException)?.code !== 'EADDRINUSE') throw err;
      throw new CliError(`demo: registry port ${options.registryPort} is in use`, ExitCode.FAILURE);
    });
    if (!result.booted) return ExitCode.INTERRUPTED;
    return result.summary.failed === 0 ? ExitCode.OK : ExitCode.FAILURE;
  },
};
