/**
 * A Registry over any Eureka server's REST API (JSON): Netflix Eureka, Spring Cloud
 * Netflix, or Tensile's embedded registry. Eureka has no push, so watches poll the
 * watched application; everything else maps one-to-one onto Eureka calls.
 */
import { disposable } from '../core/events.js';
import type { TokenSource } from '../security/credentials.js';
import type { ClientTlsOptions } from '../security/tls-options.js';
import { fromEureka, WEIGHT_KEY } from './embedded/eureka-json.js';
import { isObject } from './embedded/http-util.js';
import { httpClient } from './http-request.js';
import { type Instance, type InstanceInput, normalizeInstance, splitAddress } from './instance.js';
import type { Registration, Registry } from './registry.js';
import { SerialQueue, untilDone } from './serial.js';

export interface EurekaRegistryOptions {
  /** Eureka base URL(s) such as http://127.0.0.1:8761/eureka; `apps/…` is appended. Failover in order. */
  serviceUrl: string | readonly string[];
  /** Heartbeat interval; default 3 s (Eureka's own default is 30 s). */
  renewIntervalMs?: number;
  /** Lease duration requested from the server (Eureka honours it per instance); default 10 s. */
  leaseDurationMs?: number;
  /** How often a watched application is fetched; default 1 s. */
  pollIntervalMs?: number;
  /** Per-request timeout; default 5 s. */
  requestTimeoutMs?: number;
  logger?: { warn(msg: string): void; info?(msg: string): void };
  /** Bearer token for a registry with access control (Tensile's embedded one, or a proxy in front of Eureka). */
  token?: TokenSource;
  /** For https service URLs: the CA to trust and an optional client certificate. */
  tls?: ClientTlsOptions;
}

/** Keeps the exact Tensile service name through Eureka, which upper-cases app names. */
const SERVICE_KEY = 'tensile.service';

export function eurekaRegistry(options: EurekaRegistryOptions): Registry {
  const urls = (typeof options.serviceUrl === 'string' ? [options.serviceUrl] : [...options.serviceUrl]).map(
    (u) => u.replace(/\/+$/, ''),
  );
  if (urls.length === 0) throw new TypeError('eurekaRegistry needs at least one serviceUrl');
  const renewMs = options.renewIntervalMs ?? 3_000;
  const leaseMs = options.leaseDurationMs ?? 10_000;
  const pollMs = options.pollIntervalMs ?? 1_000;
  const timeoutMs = options.requestTimeoutMs ?? 5_000;
  const log = options.logger;
  const timers = new Set<NodeJS.Timeout>();
  let preferred = 0;
  let closed = false;
  const http = httpClient({
    timeoutMs,
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.token === undefined ? {} : { token: options.token }),
  });

  /** Tries each server in turn, starting from the last one that answered. */
  const call = async (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: any }> => {
    let lastError: unknown;
    for (let n = 0; n < urls.length; n++) {
      const i = (preferred + n) % urls.length;
      try {
        const res = await http.send(
          method,
          `${urls[i]}/${path}`,
          { accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
          body ? JSON.stringify(body) : undefined,
        );
        const text = res.text;
        if (res.status >= 500) throw new Error(`HTTP ${res.status} from ${urls[i]}`);
        preferred = i;
        return { status: res.status, json: text ? safeJson(text) : undefined };
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  };
  const enc = encodeURIComponent;
  const appPath = (service: string) => `apps/${enc(service.toUpperCase())}`;

  const toEurekaBody = (i: Instance) => {
    const { host, port } = splitAddress(i.address);
    const metadata: Record<string, string> = { ...i.metadata, [SERVICE_KEY]: i.service };
    if (i.weight !== 1) metadata[WEIGHT_KEY] = String(i.weight);
    if (i.zone) metadata.zone = i.zone;
    return {
      instance: {
        instanceId: i.id,
        hostName: host,
        app: i.service.toUpperCase(),
        ipAddr: host,
        vipAddress: i.service,
        secureVipAddress: i.service,
        status: i.status,
        port: { $: port, '@enabled': 'true' },
        securePort: { $: 443, '@enabled': 'false' },
        countryId: 1,
        dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
        leaseInfo: {
          renewalIntervalInSecs: Math.ceil(renewMs / 1000),
          durationInSecs: Math.ceil(leaseMs / 1000),
        },
        homePageUrl: `http://${i.address}/`,
        metadata,
        lastDirtyTimestamp: String(Date.now()),
      },
    };
  };

  const fromBody = (service: string, raw: unknown): Instance | undefined => {
    try {
      const { instance } = fromEureka(service, { instance: raw }, Date.now());
      const meta = { ...instance.metadata };
      delete meta[SERVICE_KEY];
      const lease = isObject(raw) && isObject(raw.leaseInfo) ? raw.leaseInfo : {};
      const registeredAt = Number(lease.registrationTimestamp);
      return {
        ...instance,
        service,
        metadata: meta,
        ...(registeredAt > 0 ? { registeredAt } : {}),
      };
    } catch (err) {
      log?.warn(`skipping malformed Eureka instance of ${service}: ${(err as Error).message}`);
      return undefined;
    }
  };
  /** Instances of `service`; undefined when the server did not answer usefully (keep the last set). */
  const fetchApp = async (service: string): Promise<Instance[] | undefined> => {
    const { status, json } = await call('GET', appPath(service));
    if (status === 404) return [];
    if (status !== 200) throw new Error(`GET ${appPath(service)} → ${status}`);
    const list = json?.application?.instance;
    const raws: unknown[] = Array.isArray(list) ? list : list ? [list] : [];
    return (
      raws
        // Eureka app names are case-insensitive; Tensile's are not, so other cases are filtered out.
        .filter(
          (r) => !isObject(r) || !isObject(r.metadata) || (r.metadata[SERVICE_KEY] ?? service) === service,
        )
        .map((r) => fromBody(service, r))
        .filter((i): i is Instance => i !== undefined)
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    );
  };

  const expectOk = async (method: string, path: string, ok: number[], body?: unknown) => {
    const { status, json } = await call(method, path, body);
    if (!ok.includes(status))
      throw new Error(`Eureka ${method} ${path} → ${status}: ${JSON.stringify(json)}`);
    return status;
  };

  return {
    async register(input: InstanceInput): Promise<Registration> {
      if (closed) throw new Error('registry client is closed');
      let instance = normalizeInstance(input);
      const post = () => expectOk('POST', appPath(instance.service), [204, 200], toEurekaBody(instance));
      const path = () => `${appPath(instance.service)}/${enc(instance.id)}`;
      await post();
      let active = true;
      let failing = false;
      /** A status the server has not confirmed yet; re-sent with the next good heartbeat. */
      let statusPending = false;
      let timer: NodeJS.Timeout | undefined;
      const writes = new SerialQueue();
      // Eureka clients publish their own status by registering again.
      const publish = async () => {
        await post();
        statusPending = false;
      };
      const renew = async () => {
        try {
          const { status } = await call('PUT', `${path()}?status=${instance.status}`);
          // 404: the server lost the lease (restart, eviction); register again as Eureka clients do.
          if (status === 404 && active) await publish();
          else if (status !== 200) throw new Error(`renew → ${status}`);
          else if (statusPending && active) await publish();
          failing = false;
        } catch (err) {
          if (!failing)
            log?.warn(`Eureka renew of ${instance.id} failed: ${(err as Error).message}; retrying`);
          failing = true;
        }
      };
      const loop = () => {
        timer = setTimeout(async () => {
          timers.delete(timer!);
          await writes.run(renew);
          if (active && !closed) loop();
        }, renewMs);
        timer.unref();
        timers.add(timer);
      };
      const stop = () => {
        active = false;
        clearTimeout(timer);
        timers.delete(timer!);
      };
      loop();
      return {
        get instance() {
          return instance;
        },
        setStatus(status) {
          instance = { ...instance, status };
          statusPending = true;
          return writes.run(publish);
        },
        deregister: untilDone(async () => {
          stop();
          await writes.run(() => expectOk('DELETE', path(), [200, 404]));
        }),
      };
    },

    watch(service, onChange) {
      if (closed) throw new Error('registry client is closed');
      let key: string | undefined;
      let failing = false;
      let timer: NodeJS.Timeout | undefined;
      let stopped = false;
      const poll = async () => {
        try {
          const set = await fetchApp(service);
          failing = false;
          const next = JSON.stringify(set);
          if (set && next !== key && !stopped) {
            key = next;
            onChange(Object.freeze(set));
          }
        } catch (err) {
          if (!failing)
            log?.warn(`Eureka poll of ${service} failed (${(err as Error).message}); keeping last set`);
          failing = true;
        }
        if (stopped || closed) return;
        timers.delete(timer!);
        timer = setTimeout(poll, pollMs);
        timers.add(timer);
      };
      void poll();
      return disposable(() => {
        stopped = true;
        clearTimeout(timer);
        timers.delete(timer!);
      });
    },

    async services() {
      const { status, json } = await call('GET', 'apps/');
      if (status !== 200) throw new Error(`GET apps/ → ${status}`);
      const apps = json?.applications?.application;
      const names = new Set<string>();
      for (const app of Array.isArray(apps) ? apps : apps ? [apps] : []) {
        const list = Array.isArray(app.instance) ? app.instance : [app.instance];
        for (const raw of list) names.add(raw?.metadata?.[SERVICE_KEY] ?? app.name);
      }
      return [...names].sort();
    },
    async instances(service) {
      const set = await fetchApp(service);
      return set ?? [];
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      http.close();
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
