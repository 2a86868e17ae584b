import { type Client, createClient } from '../../client/client.js';
import { defineService, type, unary } from '../../contract/define.js';
import { isAddress } from '../../registry/instance.js';
import type { Registry } from '../../registry/registry.js';
import { CliError, ExitCode } from '../command.js';
import { openRegistry } from '../registry-url.js';

/** A contract built at run time for one method, so the CLI can call any service without its types. */
export function dynamicService(target: string) {
  const m = /^([A-Za-z_][\w.-]*)[./]([A-Za-z_]\w*)$/.exec(target);
  if (!m)
    throw new CliError(`expected <service>.<method> or <service>/<method>, got ${JSON.stringify(target)}`);
  const [, service, method] = m as unknown as [string, string, string];
  // The last dot separates the method: "tensile.stats.get" is service "tensile.stats", method "get".
  const def = defineService(service, {
    [method]: unary({ input: type<unknown>(), output: type<unknown>(), idempotent: false }),
  });
  return { def, method };
}

/** Checked before the client sees it, so a typo is a usage error rather than a stack trace. */
function checkAddress(address: string): void {
  // The registry's own rule for instance addresses, plus a port one can dial.
  const port = isAddress(address) ? Number(address.slice(address.lastIndexOf(':') + 1)) : 0;
  if (!(port > 0 && port <= 65_535))
    throw new CliError(`--address must be host:port or [ipv6]:port, got ${JSON.stringify(address)}`);
}

export interface Target {
  call(input: unknown, options: { timeoutMs?: number; metadata?: Record<string, string> }): Promise<unknown>;
  close(): Promise<void>;
}

export async function openTarget(
  target: string,
  where: { address?: string | undefined; registry?: string | undefined; codec: 'json' | 'msgpack' },
): Promise<Target> {
  const { def, method } = dynamicService(target);
  if (where.address) checkAddress(where.address);
  let registry: Registry | undefined;
  if (!where.address) {
    registry = await openRegistry(where.registry!);
    // One cheap read first: otherwise an unreachable registry shows up only as a call that
    // found no instances before its deadline, which blames the service instead.
    try {
      await registry.instances(def.name);
    } catch (err) {
      await registry.close();
      throw new CliError(
        `cannot reach registry ${where.registry}: ${(err as Error).message}`,
        ExitCode.FAILURE,
      );
    }
  }
  const client: Client<typeof def> = createClient(def, {
    codec: where.codec,
    ...(where.address ? { addresses: [where.address] } : { registry: registry! }),
  });
  const fn = client[method] as (input: unknown, o: object) => Promise<unknown>;
  return {
    call: (input, options) => fn(input, options),
    async close() {
      await client.close();
      await registry?.close();
    },
  };
}
