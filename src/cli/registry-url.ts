import type { Registry } from '../registry/registry.js';
import { CliError } from './command.js';

export const DEFAULT_REGISTRY_URL = 'http://127.0.0.1:8761';

/**
 * Opens any supported registry from a URL:
 *   http(s)://host:port            the embedded Tensile registry
 *   eureka+http(s)://host:port/eureka   any Eureka server
 *   etcd://host:2379[,host:2379]   etcd
 *   zk://host:2181[,host:2181][/chroot]  ZooKeeper
 * Backends load their dependencies only when chosen.
 */
export async function openRegistry(url: string): Promise<Registry> {
  const scheme = /^([a-z+]+):\/\//.exec(url)?.[1];
  const rest = url.slice((scheme?.length ?? 0) + 3);
  switch (scheme) {
    case 'http':
    case 'https': {
      const { embeddedRegistry } = await import('../registry/embedded/client.js');
      return embeddedRegistry({ url });
    }
    case 'eureka+http':
    case 'eureka+https': {
      const { eurekaRegistry } = await import('../registry/eureka.js');
      return eurekaRegistry({ serviceUrl: url.slice('eureka+'.length) });
    }
    case 'etcd': {
      const { etcdRegistry } = await import('../registry/etcd.js');
      return etcdRegistry({ hosts: rest.split(',').map((h) => `http://${h}`) });
    }
    case 'zk': {
      const { zookeeperRegistry } = await import('../registry/zookeeper.js');
      return zookeeperRegistry({ connectionString: rest });
    }
    default:
      throw new CliError(
        `unsupported registry URL ${JSON.stringify(url)}: use http://, eureka+http://, etcd:// or zk://`,
      );
  }
}
