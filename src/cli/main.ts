#!/usr/bin/env node
import { CliError, type Command, ExitCode, type Io } from './command.js';
import { benchCommand } from './commands/bench.js';
import { callCommand } from './commands/call.js';
import { demoCommand } from './commands/demo.js';
import { lsCommand } from './commands/ls.js';
import { registryCommand } from './commands/registry.js';

const commands: Command[] = [demoCommand, registryCommand, lsCommand, callCommand, benchCommand];

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `tensile: elastic RPC for Node.js

Usage: tensile <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run "tensile <command> --help" for a command's options.
Exit codes: 0 success, 1 failure, 2 bad arguments, 10 + gRPC status for a failed call,
130 interrupted.
`;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out.write(help());
    return name === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  const command = commands.find((c) => c.name === name);
  try {
    if (!command) throw new CliError(`unknown command ${JSON.stringify(name)}; run "tensile --help"`);
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.err.write(`tensile: ${err.message}\n`);
      return err.exitCode;
    }
    io.err.write(`tensile: ${(err as Error)?.stack ?? String(err)}\n`);
    return ExitCode.FAILURE;
  }
}

function processIo(): Io {
  let interrupted: Promise<void> | undefined;
  return {
    out: process.stdout,
    err: process.stderr,
    // Listened for only once a command asks: one that never does keeps Ctrl-C's default
    // (exit at once) instead of ignoring it.
    get interrupted() {
      interrupted ??= new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      return interrupted;
    },
  };
}

const entry = process.argv[1] ?? '';
if (/cli[\\/]main\.[jt]s$/.test(entry) || /bin[\\/]tensile(\.js)?$/.test(entry)) {
  main(process.argv.slice(2), processIo()).then(
    (code) => {
      process.exitCode = code;
      // Open handles (sockets in keep-alive pools) must not keep a finished command alive.
      setTimeout(() => process.exit(code), 200).unref();
    },
    (err) => {
      process.stderr.write(`tensile: ${String(err)}\n`);
      process.exit(ExitCode.FAILURE);
    },
  );
}
