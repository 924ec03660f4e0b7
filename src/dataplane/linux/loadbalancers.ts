/** Load balancers: stored documents realized as nft service chains by the ruleset sync (policy-sync.ts). */
import { checkLoadBalancerRealizable } from './realizable';
import { HnsError, SCHEMA_V2, type HostComputeLoadBalancer, type HostComputeQuery } from '../../hns';
import type { LinuxContext } from './context';
import { clone } from './clone';
import { newId } from './ids';
import { queryMatcher } from './query';
import { key } from './state';

export function listLoadBalancers(c: LinuxContext, query?: HostComputeQuery): HostComputeLoadBalancer[] {
  return Object.values(c.read().loadBalancers).filter(queryMatcher(query)).map(clone);
}

export function getLoadBalancer(c: LinuxContext, id: string): HostComputeLoadBalancer {
  const lb = c.read().loadBalancers[key(id)];
  if (!lb) throw HnsError.of('ERROR_NOT_FOUND', { call: 'HcnOpenLoadBalancer', subject: `load balancer ${id}` });
  return clone(lb);
}

function putLoadBalancer(
  c: LinuxContext,
  call: string,
  id: string,
  doc: HostComputeLoadBalancer,
  mustExist: boolean,
): Promise<HostComputeLoadBalancer> {
  return c.mutate(call, `load balancer ${id}`, (s) => {
    checkLoadBalancerRealizable(doc, call, `load balancer ${id}`);
    const existing = s.loadBalancers[key(id)];
    if (mustExist && !existing) throw HnsError.of('ERROR_NOT_FOUND', { call, subject: `load balancer ${id}` });
    if (!mustExist && existing) throw HnsError.of('ERROR_ALREADY_EXISTS', { call, subject: `load balancer ${id}` });
    for (const epId of doc.HostComputeEndpoints ?? []) c.endpoint(s, epId, call);
    const stored: HostComputeLoadBalancer = { ...clone(doc), ID: id, SchemaVersion: { ...SCHEMA_V2 } };
    s.loadBalancers[key(id)] = stored;
    try {
      c.syncRules(s);
    } catch (e) {
      if (existing) s.loadBalancers[key(id)] = existing;
      else delete s.loadBalancers[key(id)];
      throw e;
    }
    return clone(stored);
  });
}

export function createLoadBalancer(c: LinuxContext, doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
  return putLoadBalancer(c, 'HcnCreateLoadBalancer', doc.ID ?? newId(), doc, false);
}

export function modifyLoadBalancer(c: LinuxContext, id: string, doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
  return putLoadBalancer(c, 'HcnModifyLoadBalancer', id, doc, true);
}

export async function deleteLoadBalancer(c: LinuxContext, id: string): Promise<void> {
  await c.mutate('HcnDeleteLoadBalancer', `load balancer ${id}`, (s) => {
    if (!s.loadBalancers[key(id)]) throw HnsError.of('ERROR_NOT_FOUND', { call: 'HcnDeleteLoadBalancer', subject: `load balancer ${id}` });
    delete s.loadBalancers[key(id)];
    c.syncRules(s);
  });
}
