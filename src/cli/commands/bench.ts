import { RpcError } from '../../core/errors.js';
import { CliError, type Command, parse, parseDuration, parseInteger, parseJsonArg } from '../command.js';
import { DEFAULT_REGISTRY_URL } from '../registry-url.js';
import { parseCodec, parseMetadata } from './call.js';
import { openTarget } from './target.js';

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'load-test a method: closed loop at a given concurrency, prints rate and latency',
  usage: `tensile bench <service.method> [json] [options]

Sends the same request in a closed loop and reports calls/s, p50/p90/p99/max latency and errors by code.

Options:
  --address <host:port>   target one instance; or discover through --registry
  --registry <url>        registry URL (default $TENSILE_REGISTRY or ${DEFAULT_REGISTRY_URL})
  --concurrency <n>       calls in flight (default 16)
  --duration <dur>        how long to run (default 10s)
  --timeout <dur>         deadline per call (default 5s)
  --metadata <k=v>        call metadata; repeatable
  --codec <json|msgpack>  payload codec (default json)
  --json                  print the result as JSON`,
  async run(argv, io) {
    const { values, positionals } = parse('bench', argv, {
      address: { type: 'string' },
      registry: { type: 'string', default: process.env.TENSILE_REGISTRY ?? DEFAULT_REGISTRY_URL },
      concurrency: { type: 'string', default: '16' },
      duration: { type: 'string', default: '10s' },
      timeout: { type: 'string', default: '5s' },
      metadata: { type: 'string', multiple: true },
      codec: { type: 'string', default: 'json' },
      json: { type: 'boolean', default: false },
    });
    if (values.help) {
      io.out.write(`${this.usage}\n`);
      return 0;
    }
    const [target, json, ...extra] = positionals;
    if (!target) throw new CliError('bench: missing <service.method>; see tensile bench --help');
    if (extra.length > 0) throw new CliError(`bench: unexpected argument ${JSON.stringify(extra[0])}`);
    const input = json === undefined ? undefined : parseJsonArg(json, 'the request');
    const concurrency = parseInteger(values.concurrency, '--concurrency', 1, 10_000);
    const durationMs = parseDuration(values.duration, '--duration');
    const options = {
      timeoutMs: parseDuration(values.timeout, '--timeout'),
      metadata: parseMetadata(values.metadata),
    };
    const client = await openTarget(target, {
      address: values.address,
      registry: values.registry,
      codec: parseCodec(values.codec),
    });

    const latencies: number[] = [];
    const errors = new Map<string, number>();
    const started = performance.now();
    const end = started + durationMs;
    let stop = false;
    void io.interrupted.then(() => (stop = true));
    const progress = io.err.isTTY
      ? setInterval(() => {
          const s = (performance.now() - started) / 1000;
          io.err.write(
            `\r${s.toFixed(0)}s  ${Math.round(latencies.length / s)} calls/s  errors ${[...errors.values()].reduce((a, b) => a + b, 0)}   `,
          );
        }, 500)
      : undefined;
    const worker = async () => {
      while (!stop && performance.now() < end) {
        const t0 = performance.now();
        try {
          await client.call(input, options);
          latencies.push(performance.now() - t0);
        } catch (err) {
          const code = err instanceof RpcError ? err.code : 'CLIENT_ERROR';
          errors.set(code, (errors.get(code) ?? 0) + 1);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: concurrency }, worker));
    } finally {
      if (progress) {
        clearInterval(progress);
        io.err.write('\n');
      }
      await client.close();
    }
    const seconds = (performance.now() - started) / 1000;
    const sorted = Float64Array.from(latencies).sort();
    const result = {
      target,
      concurrency,
      seconds: Number(seconds.toFixed(2)),
      calls: latencies.length,
      callsPerSecond: Math.round(latencies.length / seconds),
      latencyMs: {
        p50: quantile(sorted, 0.5),
        p90: quantile(sorted, 0.9),
        p99: quantile(sorted, 0.99),
        max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
      },
      errors: Object.fromEntries(errors),
    };
    if (values.json) io.out.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      const ms = (x: number) => `${x.toFixed(3)} ms`;
      io.out.write(
        `${target}: ${result.calls} calls in ${result.seconds} s at concurrency ${concurrency}\n` +
          `  rate  ${result.callsPerSecond} calls/s\n` +
          `  p50 ${ms(result.latencyMs.p50)}  p90 ${ms(result.latencyMs.p90)}  p99 ${ms(result.latencyMs.p99)}  max ${ms(result.latencyMs.max)}\n` +
          `  errors ${errors.size === 0 ? 'none' : JSON.stringify(result.errors)}\n`,
      );
    }
    return errors.size === 0 ? 0 : 1;
  },
};
