/**
 * Picks the subnet source the configuration names (flannel's subnet-manager choice). Each source is loaded
 * only when chosen, so a static node never loads the Kubernetes client or etcd3.
 */
import type { AgentConfig } from '../config';
import { StaticSubnetSource } from './static';
import type { SubnetSource } from './types';

export interface SourceContext {
  config: AgentConfig;
}

type Factory = (ctx: SourceContext) => SubnetSource;

const FACTORIES: Record<AgentConfig['subnetSource'], Factory | undefined> = {
  static: ({ config }) => new StaticSubnetSource(config.podCidr!, config.peers),
  // TODO(coordinator): one line each once src/agent/subnet/kubernetes.ts and etcd.ts are merged, e.g.
  //   kubernetes: (ctx) => new (require('./kubernetes') as typeof import('./kubernetes')).KubernetesSubnetSource(...),
  //   etcd: (ctx) => new (require('./etcd') as typeof import('./etcd')).EtcdSubnetSource(...),
  kubernetes: undefined,
  etcd: undefined,
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
