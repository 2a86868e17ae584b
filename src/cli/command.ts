import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Exit codes scripts can rely on; an RPC failure exits with RPC_ERROR_BASE + its gRPC status number. */
export const ExitCode = { OK: 0, FAILURE: 1, USAGE: 2, RPC_ERROR_BASE: 10, INTERRUPTED: 130 } as const;

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.USAGE,
  ) {
    super(message);
  }
}

export interface Io {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream & { isTTY?: boolean };
  /** Resolves when the user asks to stop (SIGINT/SIGTERM). */
  interrupted: Promise<void>;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(argv: string[], io: Io): Promise<number>;
}

/**
 * `work`'s exit code, or 130 (as a shell reports SIGINT) once the user interrupts: main
 * listens for SIGINT/SIGTERM, so a command that did not race its work would ignore Ctrl-C.
 * The work is left to settle on its own; the process exits soon after.
 */
export async function untilInterrupted(io: Io, work: Promise<number>): Promise<number> {
  const stop = io.interrupted.then(() => {
    io.err.write('interrupted\n');
    return ExitCode.INTERRUPTED;
  });
  return Promise.race([work, stop]);
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{
    args: string[];
    options: O & { help: { type: 'boolean'; short: 'h' } };
    allowPositionals: true;
    strict: true;
  }>
>;

/** parseArgs with strict checking; every mistake becomes a CliError that names the command. */
export function parse<O extends Options>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals = true,
): Parsed<O> {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
  } catch (err) {
    throw new CliError(`${command}: ${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}`);
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "250ms", "10s", "2m" or a bare number of milliseconds. */
export function parseDuration(value: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m)
    throw new CliError(`${what} must be a duration like 500ms, 10s or 2m, got ${JSON.stringify(value)}`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}

export function parseInteger(value: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new CliError(`${what} must be an integer between ${min} and ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

export function parseJsonArg(value: string, what: string): unknown {
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new CliError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}
