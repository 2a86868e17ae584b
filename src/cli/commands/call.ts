import { RpcError, Status } from '../../core/errors.js';
import {
  CliError,
  type Command,
  ExitCode,
  type Io,
  parse,
  parseDuration,
  parseJsonArg,
  untilInterrupted,
} from '../command.js';
import { DEFAULT_REGISTRY_URL } from '../registry-url.js';
import { openTarget } from './target.js';

export function parseMetadata(pairs: string[] | undefined): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new CliError(`--metadata must be key=value, got ${JSON.stringify(pair)}`);
    metadata[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return metadata;
}

export function parseCodec(value: string): 'json' | 'msgpack' {
  if (value !== 'json' && value !== 'msgpack')
    throw new CliError(`--codec must be json or msgpack, got ${JSON.stringify(value)}`);
  return value;
}

async function callOnce(
  target: string,
  input: unknown,
  options: { timeoutMs: number; metadata: Record<string, string> },
  where: Parameters<typeof openTarget>[1],
  io: Io,
): Promise<number> {
  const client = await openTarget(target, where);
  try {
    const reply = await client.call(input, options);
    io.out.write(`${JSON.stringify(reply, null, 2) ?? 'null'}\n`);
    return ExitCode.OK;
  } catch (err) {
    if (!(err instanceof RpcError)) throw err;
    io.err.write(`${err.code}: ${err.message}\n`);
    if (err.details !== undefined) io.err.write(`details: ${JSON.stringify(err.details)}\n`);
    return ExitCode.RPC_ERROR_BASE + Status[err.code];
  } finally {
    await client.close();
  }
}

export const callCommand: Command = {
  name: 'call',
  summary: 'call a method and print the reply (or the error with its code)',
  usage: `tensile call <service.method> [json] [options]

Calls one method through the registry or at an address and prints the reply as JSON.
On failure prints "CODE: message" to stderr and exits with 10 + the gRPC status number
(e.g. 24 for UNAVAILABLE, 14 + 10); bad arguments exit with 2, a registry that
cannot be reached exits with 1, and Ctrl-C exits with 130.

Options:
  --address <host:port>   call this instance directly instead of discovering through a registry
  --registry <url>        registry URL (default $TENSILE_REGISTRY or ${DEFAULT_REGISTRY_URL})
  --timeout <dur>         deadline for the call (default 10s)
  --metadata <k=v>        call metadata; repeatable
  --codec <json|msgpack>  payload codec (default json)`,
  async run(argv, io) {
    const { values, positionals } = parse('call', argv, {
      address: { type: 'string' },
      registry: { type: 'string', default: process.env.TENSILE_REGISTRY ?? DEFAULT_REGISTRY_URL },
      timeout: { type: 'string', default: '10s' },
      metadata: { type: 'string', multiple: true },
      codec: { type: 'string', default: 'json' },
    });
    if (values.help) {
      io.out.write(`${this.usage}\n`);
      return 0;
    }
    const [target, json, ...extra] = positionals;
    if (!target) throw new CliError('call: missing <service.method>; see tensile call --help');
    if (extra.length > 0) throw new CliError(`call: unexpected argument ${JSON.stringify(extra[0])}`);
    const input = json === undefined ? undefined : parseJsonArg(json, 'the request');
    const options = {
      timeoutMs: parseDuration(values.timeout, '--timeout'),
      metadata: parseMetadata(values.metadata),
    };
    const where = { address: values.address, registry: values.registry, codec: parseCodec(values.codec) };
    return untilInterrupted(io, callOnce(target, input, options, where, io));
  },
};
