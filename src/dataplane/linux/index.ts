/**
 * The linux data plane: the HCN model realized with netlink (bridges, veths, vxlan, routes, neighbours, fdb)
 * and nftables, so the same CNI entrypoints, CLI and agent run on Linux nodes. With SWITCHYARD_LINUX_NETNS
 * (a netns path) every kernel change happens inside that node namespace (the netns lab).
 *
 * Split by concern: networks.ts, endpoints.ts (+ allocate.ts), namespaces.ts (attach/detach),
 * loadbalancers.ts, modify.ts (policy requests), policy-sync.ts + ruleset.ts (nft realization),
 * reconcile.ts (crash and reboot recovery), failpoints.ts (crash injection for tests).
 */
import * as path from 'node:path';
import type { AttachOptions, HostNetworkService } from '../types';
import type { LoadBalancerBatch, LoadBalancerBatchResult } from '../lb-batch';
import type { ResolvedDataplaneOptions } from '../factory';
import { defaultStatePath } from '../factory';
import {
  DEFAULT_EMULATED_VERSION,
  HnsError,
  featuresFor,
  type HostComputeEndpoint,
  type HostComputeLoadBalancer,
  type HostComputeNamespace,
  type HostComputeNetwork,
  type HostComputeQuery,
  type HnsFeatures,
  type HnsVersion,
  type ModifyEndpointRequest,
  type ModifyNamespaceRequest,
  type ModifyNetworkRequest,
} from '../../hns';
import { hnsView } from '../hns-view';
import { Rtnl } from './netlink/rtnl';
import { LINUX_CAPABILITIES } from './capabilities';
import { endpointStats } from './endpoint-stats';
import type { EndpointStats } from '../../hns/endpoint-stats';
import { isNetnsPath } from './netns';
import { LinuxContext } from './context';
import { E_FAIL } from './errors';
import * as networks from './networks';
import * as endpoints from './endpoints';
import * as namespaces from './namespaces';
import * as lbs from './loadbalancers';
import { closeIdleSockets } from './nftnl/socket';
import { modifyEndpoint, modifyNetwork } from './modify';
import { reconcile, type ReconcileOptions, type ReconcileReport } from './reconcile';

/** Options beyond DataplaneOptions, read from the environment so CNI processes and the lab can set them. */
export function linuxStatePath(o: ResolvedDataplaneOptions): string {
  const env = o.env;
  if (env.SWITCHYARD_LINUX_STATE) return env.SWITCHYARD_LINUX_STATE;
  if (!env.SWITCHYARD_STATE && o.statePath === defaultStatePath(env)) return path.join(path.dirname(o.statePath), 'linux-dataplane.json');
  return o.statePath;
}

export async function open(options: ResolvedDataplaneOptions): Promise<HostNetworkService> {
  const netns = options.env.SWITCHYARD_LINUX_NETNS || undefined;
  if (netns && !isNetnsPath(netns))
    throw new HnsError(E_FAIL, `SWITCHYARD_LINUX_NETNS: ${netns} is not a network namespace path`, { call: 'open linux data plane' });
  // Opening reads nothing and repairs nothing: crash recovery runs before the first write (LinuxContext.mutate)
  // or on request (repair), so `network list` never changes the kernel or the state file.
  return new LinuxDataplane(linuxStatePath(options), netns, options.emulatedVersion ?? DEFAULT_EMULATED_VERSION, options.env);
}

export class LinuxDataplane implements HostNetworkService {
  readonly kind = 'linux' as const;
  readonly capabilities = LINUX_CAPABILITIES;
  private readonly c: LinuxContext;

  constructor(
    readonly statePath: string,
    readonly netns: string | undefined,
    private readonly ver: HnsVersion,
    env: NodeJS.ProcessEnv,
  ) {
    this.c = new LinuxContext(Rtnl.open(netns), statePath, netns, env);
    this.c.beforeWrite = () => this.checkBeforeWrite();
  }

  async version(): Promise<HnsVersion> {
    return { ...this.ver };
  }

  /**
   * The version's features, less what this plane does not realize: IPv6 (capabilities.addressFamilies) and
   * DSR (a DSR load balancer is plain DNAT here: the reply still passes this node).
   */
  async features(): Promise<HnsFeatures> {
    return { ...featuresFor(this.ver), IPv6DualStack: false, DSR: false };
  }

  async close(): Promise<void> {
    this.c.rt.close();
    // The netfilter socket kept for the next LB batch in this namespace (nftnl/socket.ts) goes with the plane.
    closeIdleSockets(this.c.netns);
  }

  /** Crash recovery now (`switchyard repair`); with dryRun, only what it would change. */
  repair(options: ReconcileOptions = {}): Promise<ReconcileReport> {
    return reconcile(this.c, options);
  }

  reconcile(): Promise<ReconcileReport> {
    return reconcile(this.c);
  }

  /**
   * One CNI call's data-plane work (LinuxContext.batch): its state writes are deferred to its end and
   * shared with concurrent calls; resolves once they and the kernel work it started are done.
   */
  batch<T>(fn: () => Promise<T>): Promise<T> {
    return this.c.batch(fn);
  }

  /**
   * A kept-open data plane (the agent) calls this before each call. Reads never repair, so there is nothing
   * to do here: the check runs before this process's next write when another process wrote meanwhile.
   */
  async revalidate(): Promise<void> {}

  /** The first write of this process, or one after another process replaced the state file: repair first. */
  private async checkBeforeWrite(): Promise<void> {
    const seen = this.c.foreignStamp();
    if (seen === undefined) return;
    await reconcile(this.c);
    this.c.checked(seen);
  }

  async listNetworks(query?: HostComputeQuery): Promise<HostComputeNetwork[]> {
    return (await networks.listNetworks(this.c, query)).map((d) => hnsView('network', d));
  }
  async getNetwork(id: string): Promise<HostComputeNetwork> {
    return hnsView('network', await networks.getNetwork(this.c, id));
  }
  async createNetwork(doc: HostComputeNetwork): Promise<HostComputeNetwork> {
    return hnsView('network', await networks.createNetwork(this.c, doc));
  }
  async modifyNetwork(id: string, request: ModifyNetworkRequest): Promise<HostComputeNetwork> {
    return hnsView('network', await modifyNetwork(this.c, id, request));
  }
  deleteNetwork(id: string): Promise<void> {
    return networks.deleteNetwork(this.c, id);
  }

  async listEndpoints(query?: HostComputeQuery): Promise<HostComputeEndpoint[]> {
    return (await endpoints.listEndpoints(this.c, query)).map((d) => hnsView('endpoint', d));
  }
  async getEndpoint(id: string): Promise<HostComputeEndpoint> {
    return hnsView('endpoint', await endpoints.getEndpoint(this.c, id));
  }
  async createEndpoint(networkId: string, doc: HostComputeEndpoint): Promise<HostComputeEndpoint> {
    return hnsView('endpoint', await endpoints.createEndpoint(this.c, networkId, doc));
  }
  async modifyEndpoint(id: string, request: ModifyEndpointRequest): Promise<HostComputeEndpoint> {
    return hnsView('endpoint', await modifyEndpoint(this.c, id, request));
  }
  deleteEndpoint(id: string): Promise<void> {
    return endpoints.deleteEndpoint(this.c, id);
  }
  async endpointStats(id: string): Promise<EndpointStats> {
    return endpointStats(this.c, id);
  }

  async listNamespaces(query?: HostComputeQuery): Promise<HostComputeNamespace[]> {
    return (await namespaces.listNamespaces(this.c, query)).map((d) => hnsView('namespace', d));
  }
  async getNamespace(id: string): Promise<HostComputeNamespace> {
    return hnsView('namespace', await namespaces.getNamespace(this.c, id));
  }
  async createNamespace(doc: HostComputeNamespace): Promise<HostComputeNamespace> {
    return hnsView('namespace', await namespaces.createNamespace(this.c, doc));
  }
  async modifyNamespace(id: string, request: ModifyNamespaceRequest): Promise<HostComputeNamespace> {
    return hnsView('namespace', await namespaces.modifyNamespace(this.c, id, request));
  }
  deleteNamespace(id: string): Promise<void> {
    return namespaces.deleteNamespace(this.c, id);
  }
  attachEndpoint(namespaceId: string, endpointId: string, options?: AttachOptions): Promise<void> {
    return namespaces.attachEndpoint(this.c, namespaceId, endpointId, options);
  }
  detachEndpoint(namespaceId: string, endpointId: string): Promise<void> {
    return namespaces.detachEndpoint(this.c, namespaceId, endpointId);
  }

  async listLoadBalancers(query?: HostComputeQuery): Promise<HostComputeLoadBalancer[]> {
    return (await lbs.listLoadBalancers(this.c, query)).map((d) => hnsView('loadBalancer', d));
  }
  async getLoadBalancer(id: string): Promise<HostComputeLoadBalancer> {
    return hnsView('loadBalancer', await lbs.getLoadBalancer(this.c, id));
  }
  async createLoadBalancer(doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
    return hnsView('loadBalancer', await lbs.createLoadBalancer(this.c, doc));
  }
  async modifyLoadBalancer(id: string, doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
    return hnsView('loadBalancer', await lbs.modifyLoadBalancer(this.c, id, doc));
  }
  deleteLoadBalancer(id: string): Promise<void> {
    return lbs.deleteLoadBalancer(this.c, id);
  }
  /** One nft transaction and one state write for the whole batch. */
  applyLoadBalancers(batch: LoadBalancerBatch): Promise<LoadBalancerBatchResult> {
    return lbs.applyLoadBalancers(this.c, batch);
  }
}
