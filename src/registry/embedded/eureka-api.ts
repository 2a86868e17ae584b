import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessTarget, RegistryOperation } from './access.js';
import {
  appsHashCode,
  eurekaLeaseTerms,
  fromEureka,
  parseEurekaStatus,
  toEureka,
  toTensileStatus,
} from './eureka-json.js';
import { HttpError, type Route, readJson, sendJson } from './http-util.js';
import { CapacityError, type Lease, type RegistryStore } from './store.js';

export interface EurekaApiOptions {
  store: RegistryStore;
  leaseTtlMs: number;
  renewIntervalMs: number;
  maxBodyBytes: number;
  /** Reads answer 403 until this long after start, as Eureka does while its registry is not yet synced. */
  warmupMs: number;
  now: () => number;
}

/** Both the Netflix default prefix (/eureka/v2/apps) and Spring's (/eureka/apps). */
const P = String.raw`^\/eureka(?:\/v2)?`;

/** The Eureka REST API (JSON) over the shared store. */
export function eurekaRoutes(o: EurekaApiOptions): Route[] {
  const { store } = o;
  const view = (lease: Lease, action?: string) => toEureka(lease, action);

  /** Eureka app names are case-insensitive; Tensile service names are exact. */
  const servicesOf = (app: string) => {
    const upper = app.toUpperCase();
    return store.services().filter((s) => s.toUpperCase() === upper);
  };
  const leaseOf = (app: string, id: string): Lease => {
    for (const s of servicesOf(app)) {
      const lease = store.get(s, id);
      if (lease) return lease;
    }
    throw new HttpError(404, `instance ${JSON.stringify(id)} of application ${app} is not registered`);
  };
  const group = (leases: Iterable<Lease>, action?: (l: Lease) => string) => {
    const apps = new Map<string, Record<string, unknown>[]>();
    for (const lease of leases) {
      const name = lease.instance.service.toUpperCase();
      let list = apps.get(name);
      if (!list) apps.set(name, (list = []));
      list.push(view(lease, action?.(lease)));
    }
    return [...apps.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, instance]) => ({ name, instance }));
  };
  const guardWarm = () => {
    const left = store.startedAt + o.warmupMs - o.now();
    if (left > 0) {
      throw new HttpError(403, `registry is warming up after a start; retry in ${Math.ceil(left)} ms`, {
        'retry-after': String(Math.ceil(left / 1000)),
      });
    }
  };
  /**
   * For authorization: every stored service the app name matches, plus the name itself (what a
   * registration would create), so no spelling of the app escapes a per-service rule.
   */
  const targetsOf =
    (operation: (method: string) => RegistryOperation) =>
    (method: string, [app, id]: readonly string[]): AccessTarget[] => {
      const services = new Set([...servicesOf(app!), app!]);
      return [...services].map((service) => ({
        operation: operation(method),
        service,
        ...(id === undefined ? {} : { instanceId: id }),
      }));
    };
  const hashcode = () => appsHashCode([...store.all()].map((l) => l.instance.status));

  const register = async (req: IncomingMessage, res: ServerResponse, [app]: string[]) => {
    const body = await readJson(req, o.maxBodyBytes);
    const { instance, extras } = fromEureka(app!, body, o.now());
    // Re-registration under another case of the app name lands on the existing service.
    const service = servicesOf(app!).find((s) => store.get(s, instance.id)) ?? instance.service;
    try {
      store.register(
        { ...instance, service },
        extras,
        eurekaLeaseTerms(extras, o.leaseTtlMs, o.renewIntervalMs),
      );
    } catch (err) {
      if (err instanceof CapacityError) throw new HttpError(507, err.message);
      throw err;
    }
    sendJson(res, 204, undefined);
  };

  return [
    {
      pattern: new RegExp(`${P}\\/apps\\/?$`),
      methods: {
        GET: (_q, res) => {
          guardWarm();
          sendJson(res, 200, {
            applications: {
              versions__delta: String(store.version),
              apps__hashcode: hashcode(),
              application: group(store.all()),
            },
          });
        },
      },
    },
    {
      pattern: new RegExp(`${P}\\/apps\\/delta\\/?$`),
      methods: {
        GET: (_q, res) => {
          guardWarm();
          // Latest change per instance; a deleted one is reported with its last state.
          const latest = new Map<string, { lease: Lease; type: string }>();
          for (const c of store.recentChanges()) {
            latest.set(`${c.service}\0${c.lease.instance.id}`, { lease: c.lease, type: c.type });
          }
          const byLease = new Map([...latest.values()].map((v) => [v.lease, v.type.toUpperCase()]));
          sendJson(res, 200, {
            applications: {
              versions__delta: String(store.version),
              apps__hashcode: hashcode(),
              application: group(byLease.keys(), (l) => byLease.get(l)!),
            },
          });
        },
      },
    },
    {
      pattern: new RegExp(`${P}\\/apps\\/([^/]+)\\/?$`),
      access: targetsOf((m) => (m === 'POST' ? 'register' : 'read')),
      methods: {
        GET: (_q, res, [app]) => {
          guardWarm();
          const leases = servicesOf(app!).flatMap((s) => store.leasesOf(s));
          if (leases.length === 0) throw new HttpError(404, `application ${app} is not registered`);
          sendJson(res, 200, {
            application: { name: app!.toUpperCase(), instance: leases.map((l) => view(l)) },
          });
        },
        POST: register,
      },
    },
    {
      pattern: new RegExp(`${P}\\/apps\\/([^/]+)\\/([^/]+)\\/?$`),
      access: targetsOf((m) => (m === 'PUT' ? 'renew' : m === 'DELETE' ? 'deregister' : 'read')),
      methods: {
        GET: (_q, res, [app, id]) => sendJson(res, 200, { instance: view(leaseOf(app!, id!)) }),
        PUT: (_q, res, [app, id]) => {
          const lease = leaseOf(app!, id!);
          store.renew(lease.instance.service, id!);
          sendJson(res, 200, undefined);
        },
        DELETE: (_q, res, [app, id]) => {
          store.remove(leaseOf(app!, id!).instance.service, id!);
          sendJson(res, 200, undefined);
        },
      },
    },
    {
      pattern: new RegExp(`${P}\\/apps\\/([^/]+)\\/([^/]+)\\/status\\/?$`),
      access: targetsOf(() => 'status'),
      methods: {
        PUT: (_q, res, [app, id], url) => {
          const status = toTensileStatus(
            parseEurekaStatus(url.searchParams.get('value') ?? undefined, 'value'),
          );
          store.setOverride(leaseOf(app!, id!).instance.service, id!, status);
          sendJson(res, 200, undefined);
        },
        DELETE: (_q, res, [app, id], url) => {
          const service = leaseOf(app!, id!).instance.service;
          const value = url.searchParams.get('value');
          if (value !== null)
            store.setStatus(service, id!, toTensileStatus(parseEurekaStatus(value, 'value')));
          store.setOverride(service, id!, undefined);
          sendJson(res, 200, undefined);
        },
      },
    },
    {
      pattern: new RegExp(`${P}\\/instances\\/([^/]+)\\/?$`),
      // Ids are not unique across services: every service holding one is a target.
      access: (_m, [id]) => {
        const services = [...store.all()].filter((l) => l.instance.id === id).map((l) => l.instance.service);
        return services.length
          ? services.map((service) => ({ operation: 'read', service, instanceId: id! }))
          : [{ operation: 'read', instanceId: id! }];
      },
      methods: {
        GET: (_q, res, [id]) => {
          const lease = [...store.all()].find((l) => l.instance.id === id);
          if (!lease) throw new HttpError(404, `instance ${JSON.stringify(id)} is not registered`);
          sendJson(res, 200, { instance: view(lease) });
        },
      },
    },
  ];
}
