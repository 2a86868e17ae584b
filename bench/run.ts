import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { killAll } from './rpc/ipc.js';

/**
 * `npm run bench [-- name…] [--quick] [--seconds=N …]`: runs the RPC benchmark and every other
 * module in bench/ that exports `run()`. Names select modules: `rpc`, a file name without `.ts`,
 * or a prefix such as `registry` for all `registry-*.ts`.
 */
const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const selected = args.filter((a) => !a.startsWith('--'));
const quick = args.includes('--quick');

interface BenchModule {
  run?: (options?: { quick: boolean; args: readonly string[] }) => unknown;
}

const others = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
const names = ['rpc', ...others];
const wanted = (name: string) =>
  selected.length === 0 || selected.some((s) => name === s || name.startsWith(`${s}-`));

const unknown = selected.filter((s) => !names.some((n) => n === s || n.startsWith(`${s}-`)));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; available: ${names.join(', ')}`);
  process.exit(2);
}

let failed = false;
for (const name of names.filter(wanted)) {
  console.log(`\n== ${name} ==`);
  try {
    if (name === 'rpc') {
      const rpc = await import('./rpc/echo.js');
      await rpc.run(rpc.parseOptions(args));
    } else {
      const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as BenchModule;
      if (typeof mod.run !== 'function') {
        console.log(`(${name}.ts exports no run(); skipped)`);
        continue;
      }
      await mod.run({ quick, args });
    }
  } catch (err) {
    failed = true;
    console.error(`benchmark ${name} failed:`, err);
  } finally {
    killAll();
  }
}
process.exit(failed ? 1 : 0);
