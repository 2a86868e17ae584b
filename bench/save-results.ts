import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Writes `bench/results/<name>.json` stamped with the date and Node version, and says where. */
export function saveResults(name: string, data: Record<string, unknown>): string {
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', `${name}.json`);
  mkdirSync(dirname(out), { recursive: true });
  const stamped = { date: new Date().toISOString(), node: process.version, ...data };
  writeFileSync(out, `${JSON.stringify(stamped, null, 2)}\n`);
  console.log(`written to ${out}`);
  return out;
}
