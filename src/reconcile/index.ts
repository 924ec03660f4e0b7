/**
 * The reconciler: desired HCN documents vs what a data plane reports → a plan (create / modify / delete,
 * each with a reason) → applied with rollback of what the run created. Used by `apply -f` and the node agent.
 * Pure apart from the HostNetworkService it is handed: no OS module, no data plane import.
 */
import type { HostNetworkService } from '../dataplane/types';
import type { LiveState } from './types';

export * from './types';
export { plan, describeStep, describeConflict, networkKey, endpointKey, namespaceKey, loadBalancerKey, loadBalancerIdentity } from './plan';
export { applyPlan, type ApplyOptions } from './apply';
export { holds, differingFields, sameString, policyIdentity, describePolicy, IGNORED_KEYS } from './compare';

/** What the data plane reports now: the other half of every plan. */
export async function readLive(svc: HostNetworkService, which: { loadBalancers?: boolean } = {}): Promise<LiveState> {
  return {
    networks: await svc.listNetworks(),
    endpoints: await svc.listEndpoints(),
    namespaces: await svc.listNamespaces(),
    loadBalancers: which.loadBalancers === false ? [] : await svc.listLoadBalancers(),
  };
}
