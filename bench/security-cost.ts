import { pathToFileURL } from 'node:url';
import { createClient } from '../src/client/client.js';
import type { Filter } from '../src/core/service.js';
import { bearerAuth } from '../src/security/bearer.js';
import { bearerCredentials } from '../src/security/credentials.js';
import { createTestPki } from '../src/security/test-certs.js';
import { createServer } from '../src/server/server.js';
import { Greeter } from '../src/test/greeter.js';
import { saveResults } from './save-results.js';

/**
 * What TLS and bearer authentication cost end to end: one client and one server in this
 * process, 64 calls in flight, small JSON echo calls. Compare the rows with each other, not
 * with bench/rpc (which runs client and server in separate processes).
 * `npx tsx bench/security-cost.ts [--quick]`.
 */

export interface SecurityCostResult {
  setup: string;
  callsPerSecond: number;
}

const handlers = {
  sayHello: async ({ name }: { name: string }) => ({ message: name }),
  echo: async (x: unknown) => x,
  sleep: async () => ({ aborted: false }),
  fail: async (): Promise<never> => {
    throw new Error('x');
  },
};

export async function run(options: { quick?: boolean } = {}): Promise<SecurityCostResult[]> {
  const quick = options.quick ?? false;
  const calls = quick ? 10_000 : 40_000;
  const pki = createTestPki();
  const setups: { setup: string; tls: boolean; server: Filter[]; client: Filter[] }[] = [
    { setup: 'plain TCP', tls: false, server: [], client: [] },
    { setup: 'TLS', tls: true, server: [], client: [] },
    { setup: 'TCP + token metadata, no check', tls: false, server: [], client: [bearerCredentials('t0k3n')] },
    {
      setup: 'TCP + bearerAuth',
      tls: false,
      server: [bearerAuth({ tokens: { t0k3n: 'bench' } })],
      client: [bearerCredentials('t0k3n')],
    },
    {
      setup: 'TLS + bearerAuth',
      tls: true,
      server: [bearerAuth({ tokens: { t0k3n: 'bench' } })],
      client: [bearerCredentials('t0k3n')],
    },
  ];
  const best = new Map<string, number>();
  try {
    for (let round = 0; round < (quick ? 2 : 3); round++) {
      for (const s of setups) {
        const server = createServer({ filters: s.server }).implement(Greeter, handlers);
        const { address } = await server.listen(
          s.tls ? { tls: { key: pki.server.key, cert: pki.server.cert } } : {},
        );
        const client = createClient(Greeter, {
          addresses: [address],
          policies: false,
          filters: s.client,
          ...(s.tls ? { tls: { ca: pki.ca.cert } } : {}),
        });
        await client.echo(0);
        let i = 0;
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: 64 }, async () => {
            while (i++ < calls) await client.echo(i);
          }),
        );
        const rate = Math.round(calls / ((performance.now() - t0) / 1000));
        best.set(s.setup, Math.max(best.get(s.setup) ?? 0, rate));
        await client.close();
        await server.close({ graceMs: 100 });
      }
    }
  } finally {
    pki.ca.dispose();
  }
  const results = setups.map((s) => ({ setup: s.setup, callsPerSecond: best.get(s.setup)! }));
  console.table(results);
  saveResults('security-cost', { quick, results });
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run({ quick: process.argv.includes('--quick') });
}
