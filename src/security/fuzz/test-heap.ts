import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A full GC, even without --expose-gc, so heap measurements compare live objects only. */
export function forceGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

export function liveHeapBytes(): number {
  forceGc();
  forceGc();
  return process.memoryUsage().heapUsed;
}

/** The fuzz budget: FUZZ_SCALE=10 runs ten times the inputs (locally, for a longer hunt). */
export const fuzzRuns = (n: number) => Math.round(n * Number(process.env.FUZZ_SCALE ?? 1));
