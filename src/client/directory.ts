import type { Balancer } from '../balance/balancer.js';
import { routable } from '../balance/health.js';
import { RpcError } from '../core/errors.js';
import type { Disposable } from '../core/events.js';
import type { Instance } from '../registry/instance.js';
import type { Discovery } from '../registry/registry.js';
import { ClientEndpoint, type EndpointOptions } from './endpoint.js';
import type { Directory, Endpoint } from './endpoint-types.js';

export interface DirectoryOptions extends Omit<EndpointOptions, 'onStatus'> {
  service: string;
  discovery: Discovery;
  balancer: Balancer;
  /** Panic mode entered or left, reported when the routable set is next computed (at a pick). */
  onPanic?: (event: PanicEvent) => void;
  onChange?: (endpoints: readonly Endpoint[]) => void;
}

/** The directory entered panic mode (no endpoint healthy, so calls go to all) or left it. */
export interface PanicEvent {
  readonly type: 'panic';
  readonly service: string;
  /** True on entering panic mode, false on leaving it. */
  readonly panic: boolean;
  /** Endpoints calls are routed to now: the panic fallback, or the healthy ones after it. */
  readonly routable: number;
  /** Every endpoint known to the directory. */
  readonly total: number;
}

/**
 * The endpoints of one service for one client, kept in step with discovery. The routable
 * snapshot is rebuilt only when membership or an endpoint's status changes, so a pick
 * reads a cached array.
 */
export class ServiceDirectory implements Directory {
  readonly service: string;
  readonly balancer: Balancer;
  private readonly endpoints = new Map<string, ClientEndpoint>();
  private allSnapshot: readonly ClientEndpoint[] = [];
  private routableSnapshot: readonly Endpoint[] | undefined;
  private panic = false;
  private closed = false;
  private readonly watch: Disposable;
  private resolveReady!: () => void;
  private rejectReady!: (err: RpcError) => void;
  /** True once discovery has reported at least once. */
  resolved = false;
  /**
   * Resolves once discovery has reported at least once; rejects (UNAVAILABLE, never processed)
   * if the directory is closed before that, so calls waiting for discovery do not hang.
   */
  readonly ready = new Promise<void>((resolve, reject) => {
    this.resolveReady = resolve;
    this.rejectReady = reject;
  });

  constructor(private readonly options: DirectoryOptions) {
    this.service = options.service;
    this.balancer = options.balancer;
    this.ready.catch(() => {}); // nobody may be waiting when it is closed
    this.watch = options.discovery.watch(options.service, (instances) => this.update(instances));
  }

  all(): readonly Endpoint[] {
    return this.allSnapshot;
  }

  routable(): readonly Endpoint[] {
    if (this.routableSnapshot) return this.routableSnapshot;
    const { endpoints, panic } = routable(this.allSnapshot);
    if (panic !== this.panic) {
      this.panic = panic;
      this.options.onPanic?.({
        type: 'panic',
        service: this.service,
        panic,
        routable: endpoints.length,
        total: this.allSnapshot.length,
      });
    }
    this.routableSnapshot = endpoints;
    return endpoints;
  }

  get inPanic(): boolean {
    this.routable();
    return this.panic;
  }

  private readonly invalidate = () => {
    this.routableSnapshot = undefined;
  };

  private update(instances: readonly Instance[]): void {
    // A backend may deliver once more after dispose; endpoints made then would dial forever.
    if (this.closed) return;
    const seen = new Set<string>();
    for (const instance of instances) {
      seen.add(instance.id);
      const existing = this.endpoints.get(instance.id);
      if (existing && existing.instance.address === instance.address) {
        existing.instance = instance;
        continue;
      }
      if (existing) void existing.close();
      this.endpoints.set(
        instance.id,
        new ClientEndpoint(instance, { ...this.options, onStatus: this.invalidate }),
      );
    }
    for (const [id, endpoint] of this.endpoints) {
      if (!seen.has(id)) {
        this.endpoints.delete(id);
        void endpoint.close();
      }
    }
    this.allSnapshot = [...this.endpoints.values()];
    this.invalidate();
    this.options.onChange?.(this.allSnapshot);
    this.resolved = true;
    this.resolveReady();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watch.dispose();
    if (!this.resolved)
      this.rejectReady(new RpcError('UNAVAILABLE', 'client closed', { mayHaveProcessed: false }));
    await Promise.all([...this.endpoints.values()].map((e) => e.close()));
    this.endpoints.clear();
    this.allSnapshot = [];
    this.invalidate();
  }
}
