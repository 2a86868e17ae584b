export type InstanceStatus = 'UP' | 'DOWN' | 'STARTING' | 'OUT_OF_SERVICE';

/** One running copy of a service, as the registry knows it. */
export interface Instance {
  /** Unique within its service. */
  readonly id: string;
  readonly service: string;
  /** `host:port` of the Tensile wire listener; an IPv6 host in brackets (`[::1]:7000`). */
  readonly address: string;
  /** Relative capacity for weighted balancers; default 1. */
  readonly weight: number;
  readonly zone?: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly status: InstanceStatus;
  /** Epoch ms when the instance was first registered. */
  readonly registeredAt: number;
}

/** What a caller gives to register: the rest has defaults. */
export type InstanceInput = Pick<Instance, 'service' | 'address'> &
  Partial<Omit<Instance, 'service' | 'address'>>;

/** `host:port`, or `[v6addr]:port` with the IPv6 address bracketed as in URLs. */
const ADDRESS = /^(?:[^\s:[\]]+|\[[0-9A-Fa-f:.]+(?:%[\w.-]+)?\]):\d{1,5}$/;

/** `host:port` or `[v6addr]:port`, as instance addresses are written. */
export function isAddress(address: string): boolean {
  return ADDRESS.test(address);
}

/** Brackets an IPv6 literal for use in `host:port`; other hosts are returned as they are. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function normalizeInstance(input: InstanceInput, now = Date.now()): Instance {
  if (!input.service || typeof input.service !== 'string')
    throw new TypeError('instance.service is required');
  if (!isAddress(input.address ?? '')) {
    throw new TypeError(
      `instance.address must be host:port or [ipv6]:port, got ${JSON.stringify(input.address)}`,
    );
  }
  const weight = input.weight ?? 1;
  if (!Number.isFinite(weight) || weight < 0)
    throw new TypeError('instance.weight must be a finite number >= 0');
  return {
    id: input.id ?? `${input.address}`,
    service: input.service,
    address: input.address,
    weight,
    ...(input.zone === undefined ? {} : { zone: input.zone }),
    metadata: { ...(input.metadata ?? {}) },
    status: input.status ?? 'UP',
    registeredAt: input.registeredAt ?? now,
  };
}

/** Splits `host:port` or `[v6addr]:port`; the host comes back without brackets. */
export function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  if (i <= 0) throw new TypeError(`address must be host:port, got ${JSON.stringify(address)}`);
  const port = Number(address.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`bad port in ${address}`);
  const host = address.slice(0, i);
  return { host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, port };
}
