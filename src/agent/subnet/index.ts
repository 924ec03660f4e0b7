/**
 * Picks the subnet source the configuration names (flannel's subnet-manager choice). Each source is loaded
 * only when chosen, so a static node never loads the Kubernetes client or etcd3.
 */
import type { AgentConfig } from '../config';
import type { Logger } from '../../util/log';
import { StaticSubnetSource } from './static';
import type { SubnetSource } from './types';

export interface SourceContext {
  config: AgentConfig;
  log?: Logger;
}

type Factory = (ctx: SourceContext) => SubnetSource;

const FACTORIES: Record<AgentConfig['subnetSource'], Factory | undefined> = {
  static: ({ config }) => new StaticSubnetSource(config.podCidr!, config.peers),
  kubernetes: ({ config, log }) =>
    new (require('./kubernetes') as typeof import('./kubernetes')).KubernetesSubnetSource({
      netConf: config.netConf,
      log,
      ...(config.kubeconfig !== undefined ? { kubeconfig: config.kubeconfig } : {}),
    }),
  etcd: ({ config, log }) => {
    const { EtcdSubnetSource } = require('./etcd') as typeof import('./etcd');
    const { previousSubnet } = require('./subnet-env') as typeof import('./subnet-env');
    const previous = config.subnetEnv ? previousSubnet(config.subnetEnv) : undefined;
    return new EtcdSubnetSource({
      endpoints: config.etcdEndpoints,
      prefix: config.etcdPrefix,
      netConf: config.netConf,
      log,
      ...(previous ? { previousSubnet: previous } : {}),
    });
  },
};

export class SubnetSourceUnavailableError extends Error {
  constructor(kind: string) {
    super(`--subnet-source: the ${kind} subnet source is not part of this build`);
    this.name = 'SubnetSourceUnavailableError';
  }
}

export function createSubnetSource(ctx: SourceContext): SubnetSource {
  const make = FACTORIES[ctx.config.subnetSource];
  if (!make) throw new SubnetSourceUnavailableError(ctx.config.subnetSource);
  return make(ctx);
}

export { StaticSubnetSource };
export type { SubnetSource, NodeLease, LocalAnnouncement, ClusterNetConf, BackendType } from './types';
