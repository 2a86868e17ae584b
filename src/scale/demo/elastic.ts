import { trackLoad } from '../../balance/load-tracking.js';
import { p2cEwma } from '../../balance/p2c-ewma.js';
import { type Client, type ClientOptions, createClient } from '../../client/client.js';
import { retry } from '../../policy/retry.js';
import { embeddedRegistry } from '../../registry/embedded/client.js';
import { type RunningRegistry, startRegistry } from '../../registry/embedded/server.js';
import type { Registry } from '../../registry/registry.js';
import { type Autoscaler, type AutoscalerLogger, createAutoscaler } from '../autoscaler.js';
import { type ScaleRules, type Target, targetTracking } from '../policy.js';
import { type PoolEvent, type ProcessPool, processPool } from '../process-pool.js';
import { DemoService } from './demo-service.js';

export interface ElasticFleetOptions {
  /** Calls one instance serves at once; default 8. */
  concurrency?: number;
  /** Work time per call; default 50 ms. */
  workMs?: number;
  /** Calls in flight per instance to hold; default 60 % of concurrency. */
  targetInflight?: number;
  /** Also hold the instances' p99 latency under this, when given. */
  targetP99Ms?: number;
  minReplicas?: number;
  maxReplicas?: number;
  /** Autoscaler period; default 1 s. */
  intervalMs?: number;
  /** Default: +4 instances or +100 % per 5 s (the HPA's 15 s periods suit slower-starting pods). */
  scaleUp?: ScaleRules;
  /** Default: 15 s stabilization (the HPA's 300 s is too long for a demo). */
  scaleDown?: ScaleRules;
  tolerance?: number;
  /** Use a running registry instead of starting one. */
  registryUrl?: string;
  /** Port of the registry this fleet starts; default 0 (any free port). */
  registryPort?: number;
  /** Pause between an instance's deregistration and its GOAWAY; default 500 ms. */
  deregisterDelayMs?: number;
  /** Warm spare processes kept by the pool; default 2. */
  spares?: number;
  /** A process not ready by then is killed and replaced; default 20 s (raise it on a busy machine). */
  startTimeoutMs?: number;
  /**
   * Options of the demo client. Default: P2C over peak EWMA with load tracking, so a
   * backed-up instance gets less traffic, and retries of calls that provably never ran.
   */
  client?: Omit<ClientOptions, 'registry' | 'addresses'>;
  stdout?: 'inherit' | 'ignore';
  logger?: AutoscalerLogger;
  /** Sees the pool's events from its first spawn, before the fleet is returned. */
  onPoolEvent?: (event: PoolEvent) => void;
  /**
   * Resolves when the caller gives up: a start still waiting for its first instances
   * closes the pool (no respawning children a terminal's Ctrl-C also stopped) and rejects.
   */
  interrupted?: Promise<void>;
}

export interface ElasticFleet {
  readonly registryUrl: string;
  /** The embedded registry server, when this fleet started it. */
  readonly registryServer?: RunningRegistry;
  /** A registry client (discovery for callers, signals for the autoscaler). */
  readonly registry: Registry;
  readonly pool: ProcessPool;
  readonly autoscaler: Autoscaler;
  /** A client of the demo service that finds instances through the registry. */
  readonly client: Client<typeof DemoService>;
  /** Stops the autoscaler, drains every instance, stops the registry it started. */
  close(): Promise<void>;
}

// demo-worker.ts from the sources (through tsx), demo-worker.js from a build.
const WORKER = new URL(`./demo-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * The whole elastic loop on one machine: embedded registry, a process pool of demo
 * instances with a fixed capacity each, the autoscaler tracking in-flight calls, and a
 * client. The demo command, the benchmark and the end-to-end test start it.
 */
export async function startElasticFleet(options: ElasticFleetOptions = {}): Promise<ElasticFleet> {
  const concurrency = options.concurrency ?? 8;
  const minReplicas = options.minReplicas ?? 1;
  const registryServer = options.registryUrl
    ? undefined
    : await startRegistry({
        port: options.registryPort ?? 0,
        leaseTtlMs: 5_000,
        renewIntervalMs: 1_000,
        selfPreservation: false,
        warmupMs: 0,
      });
  const registryUrl = options.registryUrl ?? registryServer!.url;
  const registry = embeddedRegistry({ url: registryUrl });
  const pool = processPool({
    module: WORKER,
    registryUrl,
    env: {
      DEMO_CONCURRENCY: String(concurrency),
      DEMO_WORK_MS: String(options.workMs ?? 50),
      DEMO_DEREGISTER_DELAY_MS: String(options.deregisterDelayMs ?? 500),
    },
    stdout: options.stdout ?? 'ignore',
    spares: options.spares ?? 2,
    ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
  });
  if (options.onPoolEvent) pool.onEvent(options.onPoolEvent);
  let started = false;
  void options.interrupted?.then(() => {
    if (!started) void pool.close(); // whenReady below rejects at once
  });
  const targets: Target[] = [{ signal: 'inflight', target: options.targetInflight ?? concurrency * 0.6 }];
  if (options.targetP99Ms !== undefined) targets.push({ signal: 'p99Ms', target: options.targetP99Ms });
  const autoscaler = createAutoscaler({
    service: DemoService,
    registry,
    scaler: pool,
    intervalMs: options.intervalMs ?? 1_000,
    policy: targetTracking({
      targets,
      minReplicas,
      maxReplicas: options.maxReplicas ?? 8,
      ...(options.tolerance === undefined ? {} : { tolerance: options.tolerance }),
      scaleUp: options.scaleUp ?? {
        steps: [
          { pods: 4, periodMs: 5_000 },
          { percent: 100, periodMs: 5_000 },
        ],
      },
      scaleDown: options.scaleDown ?? { stabilizationMs: 15_000 },
    }),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const client = createClient(DemoService, {
    ...(options.client ?? { balancer: p2cEwma(), endpointFilters: [trackLoad()], filters: [retry()] }),
    registry,
  });
  // The dashboard of the registry started here shows the decisions and the client's view.
  registryServer?.dashboard?.attach({ autoscaler, client });
  const close = async () => {
    await autoscaler.stop();
    await client.close();
    await pool.close();
    await registry.close();
    await registryServer?.close();
  };
  try {
    await pool.scaleTo(minReplicas);
    await pool.whenReady(minReplicas);
    started = true;
    autoscaler.start();
  } catch (err) {
    await close();
    throw err;
  }
  return {
    registryUrl,
    ...(registryServer ? { registryServer } : {}),
    registry,
    pool,
    autoscaler,
    client,
    close,
  };
}
