import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { type DeploymentScaleApi, type KubernetesScalerOptions, kubernetesScaler } from './kubernetes.js';

/*
 * No Kubernetes cluster can run here, so the scaler talks to a small local HTTP server
 * that mimics the two API endpoints it uses — GET and PUT
 * /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale — including resourceVersion
 * conflicts. Wherever the official client loads (the 1.x line installed as the
 * devDependency does on every supported Node.js; 2.x needs Node.js 22.19+), the suite runs
 * through it with a kubeconfig pointing at the fake; everywhere it also runs through
 * `fetchApi` below, a plain-HTTP stand-in of the same two calls that documents the wire
 * contract.
 */
// Gated on the installed version and the runtime rather than tried: where 2.x cannot
// load, its failed import leaves an unhandled rejection inside the test runner even when
// the import is caught.
function officialClientLoads(): boolean {
  const { version } = createRequire(import.meta.url)('@kubernetes/client-node/package.json') as {
    version: string;
  };
  const [node = 0, nodeMinor = 0] = process.versions.node.split('.').map(Number);
  return Number.parseInt(version, 10) < 2 || node > 22 || (node === 22 && nodeMinor >= 19);
}
const k8s = officialClientLoads() ? await import('@kubernetes/client-node') : undefined;

/** The two calls over fetch, failing like the official client (an error with `code`). */
function fetchApi(base: string, token: string): DeploymentScaleApi {
  const call = async (method: string, p: { name: string; namespace: string }, body?: unknown) => {
    const url = `${base}/apis/apps/v1/namespaces/${p.namespace}/deployments/${p.name}/scale`;
    const res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = await res.json();
    if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { code: res.status, body: json });
    return json;
  };
  return {
    readNamespacedDeploymentScale: (p) => call('GET', p),
    replaceNamespacedDeploymentScale: (p) => call('PUT', p, p.body),
  };
}
interface FakeApi {
  replicas: number;
  resourceVersion: number;
  /** Bump the version between a GET and the next PUT, as a concurrent writer would. */
  raceOnce: boolean;
  requests: { method: string; url: string; auth?: string; body?: any }[];
}

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function fakeApi(initial: number): Promise<{ api: FakeApi; base: string }> {
  const api: FakeApi = { replicas: initial, resourceVersion: 1, raceOnce: false, requests: [] };
  const scale = () => ({
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: 'demo', namespace: 'shop', resourceVersion: String(api.resourceVersion) },
    spec: { replicas: api.replicas },
    status: { replicas: api.replicas, selector: 'app=demo' },
  });
  const body = async (req: IncomingMessage) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    return text ? JSON.parse(text) : undefined;
  };
  server = createServer(async (req, res) => {
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const parsed = await body(req);
    api.requests.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body: parsed });
    const path = new URL(req.url!, 'http://x').pathname;
    if (path !== '/apis/apps/v1/namespaces/shop/deployments/demo/scale') {
      return json(404, { kind: 'Status', code: 404, reason: 'NotFound', message: 'not found' });
    }
    if (req.method === 'GET') {
      json(200, scale());
      if (api.raceOnce) {
        api.raceOnce = false;
        api.resourceVersion++;
      }
      return;
    }
    if (req.method === 'PUT') {
      if (parsed?.metadata?.resourceVersion !== String(api.resourceVersion)) {
        return json(409, {
          kind: 'Status',
          code: 409,
          reason: 'Conflict',
          message: 'the object has been modified',
        });
      }
      api.replicas = parsed.spec.replicas;
      api.resourceVersion++;
      return json(200, scale());
    }
    json(405, { kind: 'Status', code: 405 });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { api, base: `http://127.0.0.1:${port}` };
}

type Connect = (base: string) => Pick<KubernetesScalerOptions, 'api' | 'kubeConfig'>;
const transports: [string, Connect][] = [
  ['fetch stand-in', (base) => ({ api: fetchApi(base, 'secret-token') })],
];
if (k8s) {
  transports.push([
    'official client',
    (base): { kubeConfig: KubeConfig } => {
      const kubeConfig = new k8s.KubeConfig();
      kubeConfig.loadFromOptions({
        clusters: [{ name: 'fake', server: base, skipTLSVerify: true }],
        users: [{ name: 'autoscaler', token: 'secret-token' }],
        contexts: [{ name: 'fake', cluster: 'fake', user: 'autoscaler', namespace: 'shop' }],
        currentContext: 'fake',
      });
      return { kubeConfig };
    },
  ]);
}

describe.each(transports)('kubernetesScaler against a fake API server, via %s', (_name, connect) => {
  it('reads and sets spec.replicas through the scale subresource', async () => {
    const { api, base } = await fakeApi(2);
    const scaler = kubernetesScaler({ namespace: 'shop', deployment: 'demo', ...connect(base) });
    expect(await scaler.replicas()).toBe(2);
    await scaler.scaleTo(5);
    expect(api.replicas).toBe(5);
    expect(await scaler.replicas()).toBe(5);
    const put = api.requests.find((r) => r.method === 'PUT');
    expect(put?.body).toMatchObject({
      kind: 'Scale',
      spec: { replicas: 5 },
      metadata: { resourceVersion: '1' },
    });
    expect(new Set(api.requests.map((r) => r.auth))).toEqual(new Set(['Bearer secret-token']));
  });

  it('writes nothing when the count is already right', async () => {
    const { api, base } = await fakeApi(3);
    await kubernetesScaler({ namespace: 'shop', deployment: 'demo', ...connect(base) }).scaleTo(3);
    expect(api.requests.map((r) => r.method)).toEqual(['GET']);
  });

  it('retries on a resourceVersion conflict instead of overwriting a concurrent change', async () => {
    const { api, base } = await fakeApi(2);
    api.raceOnce = true;
    await kubernetesScaler({ namespace: 'shop', deployment: 'demo', ...connect(base) }).scaleTo(4);
    expect(api.requests.map((r) => r.method)).toEqual(['GET', 'PUT', 'GET', 'PUT']);
    expect(api.replicas).toBe(4);
  });

  it('explains a missing Deployment', async () => {
    const { base } = await fakeApi(1);
    const scaler = kubernetesScaler({ namespace: 'shop', deployment: 'nope', ...connect(base) });
    await expect(scaler.replicas()).rejects.toThrow(/shop\/nope: 404 \(no such Deployment\)/);
  });
});
