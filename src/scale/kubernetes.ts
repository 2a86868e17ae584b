import type { AppsV1Api, KubeConfig, V1Scale } from '@kubernetes/client-node';
import type { Scaler } from './scaler.js';

/** The two calls of the official client's `AppsV1Api` the scaler needs. */
export type DeploymentScaleApi = Pick<AppsV1Api, 'readNamespacedDeploymentScale'> & {
  replaceNamespacedDeploymentScale(param: {
    name: string;
    namespace: string;
    body: V1Scale;
  }): Promise<V1Scale>;
};

export interface KubernetesScalerOptions {
  namespace: string;
  /** Name of the Deployment whose replica count to set. */
  deployment: string;
  /**
   * A loaded KubeConfig, or the path of a kubeconfig file. Default: the usual lookup
   * (KUBECONFIG, ~/.kube/config, or the in-cluster service account).
   */
  kubeConfig?: KubeConfig | string;
  /**
   * The API to use instead of building one from kubeConfig: an `AppsV1Api` made
   * elsewhere, or any object with these two calls.
   */
  api?: DeploymentScaleApi;
  /** Attempts when another writer changes the scale between our read and write; default 3. */
  conflictRetries?: number;
}

/**
 * Scales a Deployment through its scale subresource, as `kubectl scale` and the HPA do.
 * The Kubernetes client is imported on first use, so nothing loads it unless this
 * scaler actually runs: its 1.x line (1.1.2 or later) on any supported Node.js, its 2.x
 * line on Node.js 22.19+ (its undici needs that); both have the same object-parameter API.
 * The service account needs get and update on `deployments/scale` in the namespace.
 *
 * Kubernetes removes pods itself on scale-in, so the `prefer` hint is ignored; the pods'
 * preStop hook and SIGTERM handling (see `runInstance`) make their departure lossless.
 */
export function kubernetesScaler(options: KubernetesScalerOptions): Scaler {
  const { namespace, deployment: name } = options;
  let api: Promise<DeploymentScaleApi> | undefined = options.api && Promise.resolve(options.api);

  const client = () =>
    (api ??= (async () => {
      const k8s = await import('@kubernetes/client-node').catch((err: Error) => {
        throw new Error(
          `kubernetesScaler: cannot load @kubernetes/client-node (${err.message}); ` +
            'install it (1.x from 1.1.2 works on Node.js 20.19+, 2.x needs Node.js 22.19+) or pass `api`',
          { cause: err },
        );
      });
      let config = options.kubeConfig;
      if (config === undefined || typeof config === 'string') {
        const loaded = new k8s.KubeConfig();
        if (config === undefined) loaded.loadFromDefault();
        else loaded.loadFromFile(config);
        config = loaded;
      }
      return config.makeApiClient(k8s.AppsV1Api);
    })());

  const read = async () => {
    try {
      return await (await client()).readNamespacedDeploymentScale({ name, namespace });
    } catch (err) {
      throw explain('read', err);
    }
  };

  return {
    async replicas() {
      return (await read()).spec?.replicas ?? 0;
    },
    async scaleTo(n) {
      if (!Number.isInteger(n) || n < 0)
        throw new RangeError(`replica count must be an integer >= 0, got ${n}`);
      const attempts = options.conflictRetries ?? 3;
      for (let attempt = 1; ; attempt++) {
        const scale = await read();
        if (scale.spec?.replicas === n) return;
        // The read's resourceVersion makes the write conditional: a concurrent change
        // (kubectl, a rollout) answers 409 instead of being silently overwritten.
        const body = { ...scale, spec: { ...scale.spec, replicas: n } };
        try {
          await (await client()).replaceNamespacedDeploymentScale({ name, namespace, body });
          return;
        } catch (err) {
          if (statusOf(err) === 409 && attempt < attempts) continue;
          throw explain('update', err);
        }
      }
    },
  };

  function explain(what: string, err: unknown): Error {
    const status = statusOf(err);
    const hint =
      status === 403
        ? ' (the service account needs get/update on deployments/scale)'
        : status === 404
          ? ' (no such Deployment)'
          : '';
    return new Error(
      `kubernetes: cannot ${what} scale of deployment ${namespace}/${name}: ${status ?? (err as Error)?.message ?? err}${hint}`,
      { cause: err },
    );
  }
}

const statusOf = (err: unknown): number | undefined => {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
};
