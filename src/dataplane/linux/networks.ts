/** Networks: create (plan, realize, record), list, get, delete. Policy changes are in modify.ts. */
import { HnsError, SCHEMA_V2, type HostComputeNetwork, type HostComputeQuery } from '../../hns';
import type { LinuxContext } from './context';
import { clone } from './clone';
import { newId } from './ids';
import { writeSysctl } from './netns';
import { describeNetwork, planNetwork, realizeNetwork, removeNetwork } from './realize-network';
import { queryMatcher } from './query';
import { checkNetworkPolicies, checkNetworkSubnets, checkSubnetOverlap, checkVniClash } from './realizable';
import { key } from './state';

export function listNetworks(c: LinuxContext, query?: HostComputeQuery): HostComputeNetwork[] {
  return Object.values(c.read().networks).map(describeNetwork).filter(queryMatcher(query)).map(clone);
}

export function getNetwork(c: LinuxContext, id: string): HostComputeNetwork {
  return clone(describeNetwork(c.network(c.read(), id, 'HcnOpenNetwork')));
}

export function createNetwork(c: LinuxContext, doc: HostComputeNetwork): Promise<HostComputeNetwork> {
  const id = doc.ID ?? newId();
  return c.mutate('HcnCreateNetwork', `network ${doc.Name ?? id}`, (s) => {
    if (s.networks[key(id)]) throw HnsError.of('HCN_E_NETWORK_ALREADY_EXISTS', { call: 'HcnCreateNetwork', subject: `network ${id}` });
    // As HNS: network names are unique (exact match).
    if (doc.Name && Object.values(s.networks).some((n) => n.doc.Name === doc.Name)) {
      throw HnsError.of(
        'HCN_E_NETWORK_ALREADY_EXISTS',
        { call: 'HcnCreateNetwork', subject: `network ${doc.Name}` },
        `(name "${doc.Name}")`,
      );
    }
    const stored: HostComputeNetwork = { ...clone(doc), ID: id, SchemaVersion: { ...SCHEMA_V2 } };
    checkNetworkSubnets(stored);
    checkNetworkPolicies(stored.Policies);
    const rec = planNetwork(stored, id, c.rt);
    checkSubnetOverlap(s, rec);
    checkVniClash(s, rec);
    realizeNetwork(c.rt, rec);
    try {
      writeSysctl(c.netns, 'net.ipv4.ip_forward', '1');
      if (rec.bridge) c.bridgeSysctls(rec.bridge);
      s.networks[key(id)] = rec;
      c.syncRules(s);
    } catch (e) {
      delete s.networks[key(id)];
      removeNetwork(c.rt, rec);
      throw e;
    }
    return clone(describeNetwork(rec));
  });
}

export async function deleteNetwork(c: LinuxContext, id: string): Promise<void> {
  await c.mutate('HcnDeleteNetwork', `network ${id}`, (s) => {
    const rec = c.network(s, id, 'HcnDeleteNetwork');
    // As HNS: a network that still has endpoints stays, with everything on it (callers delete endpoints first).
    const eps = Object.values(s.endpoints).filter((ep) => ep.doc.HostComputeNetwork && key(ep.doc.HostComputeNetwork) === key(id));
    if (eps.length) {
      throw HnsError.of(
        'HCN_E_ENTITY_HAS_REFERENCES',
        { call: 'HcnDeleteNetwork', subject: `network ${rec.doc.Name ?? id}` },
        `${eps.length} endpoint(s) still on network ${rec.doc.Name ?? id}: ${eps
          .slice(0, 3)
          .map((e) => e.doc.Name ?? e.doc.ID)
          .join(', ')}${eps.length > 3 ? ', ...' : ''}`,
      );
    }
    removeNetwork(c.rt, rec);
    delete s.networks[key(id)];
    c.syncRules(s);
  });
}
