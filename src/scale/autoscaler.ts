import type { ServiceDefinition } from '../contract/define.js';
import { createEmitter, type Disposable, type Event } from '../core/events.js';
import type { Instance } from '../registry/instance.js';
import type { Discovery } from '../registry/registry.js';
import type { FleetSignals, InstanceSignals } from './fleet.js';
import { census } from './fleet.js';
import type { ScaleDecision, ScalePolicy } from './policy.js';
import type { Scaler } from './scaler.js';
import { statsReader } from './stats-reader.js';

export interface AutoscalerLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface AutoscalerOptions {
  /** The service to scale, by name or definition. */
  service: string | ServiceDefinition;
  /** Where the service's instances register. */
  registry: Discovery;
  scaler: Scaler;
  /** `targetTracking(...)`, or any `(signals, current) => number`. */
  policy: ScalePolicy | ((signals: FleetSignals, current: number) => number);
  /** Time between evaluations; default 1 s. */
  intervalMs?: number;
  /** Default: `tensile.stats/get` on every UP instance through a Tensile client. */
  readSignals?: (instances: readonly Instance[]) => Promise<readonly InstanceSignals[]>;
  /** Deadline of each default stats read; default min(500 ms, intervalMs / 2). */
  statsTimeoutMs?: number;
  logger?: AutoscalerLogger;
  now?: () => number;
}

export interface AutoscalerError {
  stage: 'replicas' | 'signals' | 'policy' | 'scale';
  error: unknown;
}

export interface Autoscaler {
  start(): void;
  /** Stops evaluating and releases stats connections; the fleet is left as it is. */
  stop(): Promise<void>;
  /** Evaluates once now (also what the timer runs). */
  tick(): Promise<ScaleDecision | undefined>;
  /** Every decision, including "stay", with its reason. */
  readonly onDecision: Event<ScaleDecision>;
  readonly onError: Event<AutoscalerError>;
  readonly service: string;
  readonly running: boolean;
  /** The replica count last decided; undefined before the first decision. */
  readonly desired: number | undefined;
  readonly lastDecision: ScaleDecision | undefined;
  /** The service's instances as the registry last reported them. */
  readonly instances: readonly Instance[];
}

/**
 * The elastic loop: every interval read the fleet's load, ask the policy, and tell the
 * scaler. Ticks never overlap: the next one is scheduled when the previous one ends, so
 * a slow registry or scaler stretches the interval rather than piling up work.
 */
export function createAutoscaler(options: AutoscalerOptions): Autoscaler {
  const service = typeof options.service === 'string' ? options.service : options.service.name;
  const intervalMs = options.intervalMs ?? 1_000;
  const now = options.now ?? Date.now;
  const log = options.logger;
  const ownReader = options.readSignals
    ? undefined
    : statsReader({ timeoutMs: options.statsTimeoutMs ?? Math.min(500, intervalMs / 2) });
  const readSignals = options.readSignals ?? ownReader!;
  const decisions = createEmitter<ScaleDecision>();
  const errors = createEmitter<AutoscalerError>();
  let instances: readonly Instance[] = [];
  let watch: Disposable | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let ticking: Promise<ScaleDecision | undefined> | undefined;
  let last: ScaleDecision | undefined;

  const fail = (stage: AutoscalerError['stage'], error: unknown) => {
    log?.warn(`autoscaler ${service}: ${stage} failed: ${(error as Error)?.message ?? error}`);
    errors.emit({ stage, error });
  };

  const decide = (fleet: FleetSignals, current: number): ScaleDecision => {
    const answer = options.policy(fleet, current);
    if (typeof answer !== 'number') return answer;
    if (!Number.isInteger(answer) || answer < 0) throw new RangeError(`policy returned ${answer}`);
    const c = census(fleet);
    return {
      at: fleet.at,
      current,
      recommended: answer,
      desired: answer,
      direction: answer > current ? 'up' : answer < current ? 'down' : 'none',
      reason:
        answer === current ? `stay at ${current} (custom policy)` : `${current} → ${answer} (custom policy)`,
      signals: [],
      limits: [],
      ready: c.ready.length,
      starting: c.starting.length,
      missing: c.missing.length,
      scaleInOrder: [],
    };
  };

  const evaluate = async (): Promise<ScaleDecision | undefined> => {
    let current: number;
    try {
      current = await options.scaler.replicas();
    } catch (err) {
      fail('replicas', err);
      return undefined;
    }
    let fleet: FleetSignals;
    try {
      const seen = instances;
      fleet = { service, at: now(), instances: await readSignals(seen) };
    } catch (err) {
      fail('signals', err);
      return undefined;
    }
    let decision: ScaleDecision;
    try {
      decision = decide(fleet, current);
    } catch (err) {
      fail('policy', err);
      return undefined;
    }
    last = decision;
    if (decision.desired !== current) {
      log?.info(`autoscaler ${service}: ${decision.reason}`);
      try {
        await options.scaler.scaleTo(decision.desired, { prefer: decision.scaleInOrder });
      } catch (err) {
        (options.policy as ScalePolicy).notApplied?.(decision);
        fail('scale', err);
      }
    }
    decisions.emit(decision);
    return decision;
  };

  const tick = () => (ticking ??= evaluate().finally(() => (ticking = undefined)));

  const loop = () => {
    timer = setTimeout(async () => {
      await tick();
      if (running) loop();
    }, intervalMs);
  };

  const ensureWatch = () => {
    watch ??= options.registry.watch(service, (set) => {
      instances = set;
    });
  };

  return {
    start() {
      if (running) return;
      running = true;
      ensureWatch();
      loop();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await ticking;
      watch?.dispose();
      watch = undefined;
      await ownReader?.close();
    },
    tick() {
      ensureWatch();
      return tick();
    },
    onDecision: decisions.event,
    onError: errors.event,
    service,
    get running() {
      return running;
    },
    get desired() {
      return last?.desired;
    },
    get lastDecision() {
      return last;
    },
    get instances() {
      return instances;
    },
  };
}
