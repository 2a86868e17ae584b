import type { InstanceStatus } from '../registry/instance.js';
import type { LoadSnapshot } from './signals.js';

/** One registered instance and, when it could be read, its load. */
export interface InstanceSignals {
  readonly id: string;
  readonly address: string;
  readonly status: InstanceStatus;
  readonly registeredAt: number;
  /** Undefined when the stats call failed or timed out: a missing metric. */
  readonly snapshot?: LoadSnapshot;
}

/** What the autoscaler knows about a service's fleet at one tick. */
export interface FleetSignals {
  readonly service: string;
  /** Epoch ms of the reading. */
  readonly at: number;
  readonly instances: readonly InstanceSignals[];
}

export interface FleetCensus {
  /** UP, measured and past the start-up period: their average drives the decision. */
  readonly ready: readonly InstanceSignals[];
  /** STARTING, or UP but younger than the start-up period (as a process or as a registration). */
  readonly starting: readonly InstanceSignals[];
  /** UP and old enough, but their stats could not be read. */
  readonly missing: readonly InstanceSignals[];
}

/**
 * Sorts instances into ready, starting and missing, as the HPA sorts pods. DOWN and
 * OUT_OF_SERVICE instances are leaving or broken and take no part.
 */
export function census(fleet: FleetSignals, startupMs = 0): FleetCensus {
  const ready: InstanceSignals[] = [];
  const starting: InstanceSignals[] = [];
  const missing: InstanceSignals[] = [];
  for (const i of fleet.instances) {
    // Young by either clock: a warm spare's process has been up for long, but it took
    // traffic only since it registered, so its idle readings would drag the average down.
    // (registeredAt is the registry's clock: with no start-up period, skew must not matter.)
    const young =
      startupMs > 0 &&
      (fleet.at - i.registeredAt < startupMs ||
        (i.snapshot !== undefined && i.snapshot.uptimeMs < startupMs));
    if (i.status === 'STARTING') starting.push(i);
    else if (i.status !== 'UP') continue;
    else if (young) starting.push(i);
    else if (i.snapshot) ready.push(i);
    else missing.push(i);
  }
  return { ready, starting, missing };
}

/**
 * The order in which to remove instances on scale-in: those not serving yet or not
 * answering first (nothing to drain), then the least loaded, then the newest (the least
 * warmed-up caches and connection pools).
 */
export function scaleInOrder(fleet: FleetSignals, startupMs = 0): string[] {
  const { ready, starting, missing } = census(fleet, startupMs);
  const newestFirst = (a: InstanceSignals, b: InstanceSignals) => b.registeredAt - a.registeredAt;
  const byLoad = [...ready].sort(
    (a, b) => (a.snapshot?.inflight ?? 0) - (b.snapshot?.inflight ?? 0) || newestFirst(a, b),
  );
  return [...[...starting, ...missing].sort(newestFirst), ...byLoad].map((i) => i.id);
}
