/**
 * The reading half of a full sync: what the host has (network, features, endpoints, load balancers), the
 * drift against what this proxy programmed (counted and logged), and the model rebuilt from HNS — owned LBs
 * under their identity, orphans to delete, kube-proxy's LBs refused (or offered for adoption).
 */
import type { HostComputeLoadBalancer } from '../../hns';
import type { HostNetworkService } from '../../dataplane/types';
import { loadBalancerShape, type NodeFacts, type ServicePlan } from '../core';
import { hnsCoexistenceError, looksLikeKubeProxy } from './coexistence';
import type { SyncContext } from './context';
import { readEndpoints, readNetwork, type EndpointIndex, type NetworkFacts, type NetworkRef } from './facts';
import type { ProgrammedModel } from './model';
import type { OwnedObjects } from './owned';
import { ownedIdFor } from './ownership';

export interface HostView {
  network: NetworkFacts;
  features: NodeFacts['features'];
  endpoints: EndpointIndex;
  loadBalancers: HostComputeLoadBalancer[];
}

export async function readHost(hns: HostNetworkService, ref: NetworkRef, sourceVip: string | undefined): Promise<HostView> {
  const network = await readNetwork(hns, ref);
  if (network.type === 'Overlay' && !sourceVip) {
    throw new Error(
      `proxy configuration: sourceVip must be set on the Overlay network ${network.name} (the reserved source VIP endpoint's address)`,
    );
  }
  const features = await hns.features();
  const endpoints = await readEndpoints(hns, network.id);
  const loadBalancers = await hns.listLoadBalancers();
  return { network, features, endpoints, loadBalancers };
}

export interface RebuildInput extends SyncContext {
  model: ProgrammedModel;
  owned: OwnedObjects;
  endpoints: EndpointIndex;
  adoptForeign: boolean;
}

export interface Rebuilt {
  /** Owned load balancers no desired identity claims (or duplicates): to delete. */
  orphans: string[];
  /** kube-proxy's load balancers that may be adopted (first sync with adoptForeign). */
  adoptable: HostComputeLoadBalancer[];
  /** Remote addresses whose endpoint vanished: the load balancers using them are rewritten. */
  refreshBackends: Set<string>;
}

export function rebuildModel(r: RebuildInput, live: HostComputeLoadBalancer[], plans: Iterable<ServicePlan>, first: boolean): Rebuilt {
  const liveById = new Map(live.filter((l) => l.ID).map((l) => [l.ID!.toUpperCase(), l]));
  const identityById = new Map<string, string>();
  for (const plan of plans) for (const lb of plan.loadBalancers) identityById.set(ownedIdFor(lb.identity), lb.identity);

  const owned = (id: string) => r.owned.ownsLoadBalancer(id);
  const foreign = live.filter((l) => l.ID && !owned(l.ID) && looksLikeKubeProxy(l));
  let adoptable: HostComputeLoadBalancer[] = [];
  if (first && foreign.length) {
    if (!r.adoptForeign) throw hnsCoexistenceError(foreign);
    adoptable = foreign;
  }

  // Drift against what this process programmed before.
  for (const p of r.model.values()) {
    const now = liveById.get(p.id.toUpperCase());
    if (!now) {
      r.counters.driftLoadBalancersMissing++;
      r.log('warn', `load balancer ${p.id} of ${p.service} was deleted out of band; recreating it`, { service: p.service, id: p.id });
    } else if (loadBalancerShape(now) !== loadBalancerShape(p.doc)) {
      r.counters.driftLoadBalancersAltered++;
      r.log('warn', `load balancer ${p.id} of ${p.service} was changed out of band; restoring it`, { service: p.service, id: p.id });
    }
  }
  const refreshBackends = new Set<string>();
  for (const [id, ip] of [...r.owned.remoteEndpoints]) {
    if (r.endpoints.remote.get(ip)?.toUpperCase() !== id) {
      r.counters.driftRemoteEndpointsMissing++;
      // Recreated by the sync; the load balancers that used it are rewritten even if its ID comes back the same.
      refreshBackends.add(ip);
      r.owned.dropRemoteEndpoint(id);
    }
  }

  // Rebuild the model from HNS: owned LBs under their identity; unknown owned ones are deleted.
  r.model.clear();
  const orphans: string[] = [];
  for (const [id, lb] of liveById) {
    if (!owned(id)) continue;
    const identity = r.owned.loadBalancers.get(id) ?? identityById.get(id);
    const service = identity ? identity.slice(0, identity.indexOf(':')) : undefined;
    if (!identity || !service || r.model.has(identity)) {
      orphans.push(id); // unknown, or a duplicate (e.g. created twice around a crash): keep one
      continue;
    }
    r.model.track(identity, { id: lb.ID!, service, doc: lb });
    r.owned.addLoadBalancer(id, identity);
  }
  for (const id of [...r.owned.loadBalancers.keys()]) if (!liveById.has(id)) r.owned.dropLoadBalancer(id);
  return { orphans, adoptable, refreshBackends };
}
