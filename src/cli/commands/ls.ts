import type { Instance } from '../../registry/instance.js';
import { CliError, type Command, ExitCode, type Io, parse, untilInterrupted } from '../command.js';
import { DEFAULT_REGISTRY_URL, openRegistry } from '../registry-url.js';

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function list(url: string, positionals: string[], json: boolean, io: Io): Promise<number> {
  const registry = await openRegistry(url);
  try {
    const all: Instance[] = [];
    try {
      const services = positionals.length > 0 ? positionals : await registry.services();
      for (const service of services.sort()) all.push(...(await registry.instances(service)));
    } catch (err) {
      throw new CliError(`cannot reach registry ${url}: ${(err as Error).message}`, ExitCode.FAILURE);
    }
    if (json) {
      io.out.write(`${JSON.stringify(all, null, 2)}\n`);
    } else if (all.length === 0) {
      io.out.write('no instances\n');
    } else {
      const now = Date.now();
      const rows = [['SERVICE', 'ID', 'ADDRESS', 'STATUS', 'ZONE', 'WEIGHT', 'AGE']];
      for (const i of all) {
        rows.push([
          i.service,
          i.id,
          i.address,
          i.status,
          i.zone ?? '-',
          String(i.weight),
          age(now - i.registeredAt),
        ]);
      }
      io.out.write(`${table(rows)}\n`);
    }
    return 0;
  } finally {
    await registry.close();
  }
}

export const lsCommand: Command = {
  name: 'ls',
  summary: 'list services and their instances from any supported registry',
  usage: `tensile ls [service...] [options]

Options:
  --registry <url>   http://host:port (embedded), eureka+http://host:port/eureka, etcd://host:port, zk://host:port
                     (default $TENSILE_REGISTRY or ${DEFAULT_REGISTRY_URL})
  --json             print JSON instead of a table`,
  async run(argv, io) {
    const { values, positionals } = parse('ls', argv, {
      registry: { type: 'string', default: process.env.TENSILE_REGISTRY ?? DEFAULT_REGISTRY_URL },
      json: { type: 'boolean', default: false },
    });
    if (values.help) {
      io.out.write(`${this.usage}\n`);
      return 0;
    }
    return untilInterrupted(io, list(values.registry, positionals, values.json, io));
  },
};
