/** Endpoints: create (address allocation, record), list, get (as the kernel has them), delete. */
import * as fs from 'node:fs';
import { HnsError, SCHEMA_V2, type HostComputeEndpoint, type HostComputeQuery } from '../../hns';
import type { LinuxContext } from './context';
import { clone } from './clone';
import { newId } from './ids';
import { failpoint } from './failpoints';
import { assignAddress } from './allocate';
import { BadNetworkError } from './realize-network';
import { detachLater } from './realize-endpoint';
import { Rtnl } from './netlink/rtnl';
import { queryMatcher } from './query';
import { checkEndpointAddresses, checkEndpointPolicies, checkHostPorts } from './realizable';
import { key, type EndpointRecord, type LinuxState } from './state';
import { untracked } from './state-tracker';
import { hostAddressPresent } from './host';

/** Filtered lists and gets show the kernel's truth (see liveView); an unfiltered list is the record. */
export function listEndpoints(c: LinuxContext, query?: HostComputeQuery): HostComputeEndpoint[] {
  const matches = queryMatcher(query);
  const s = c.read();
  const found = Object.values(s.endpoints).filter((e) => matches(e.doc));
  return found.map((e) => (query?.Filter ? live(c, s, e) : clone(e.doc)));
}

export function getEndpoint(c: LinuxContext, id: string): HostComputeEndpoint {
  const s = c.read();
  return live(c, s, c.endpoint(s, id, 'HcnOpenEndpoint'));
}

/** liveView, and for a host endpoint: attached only while its address is on the bridge. */
function live(c: LinuxContext, s: LinuxState, ep: EndpointRecord): HostComputeEndpoint {
  if (!ep.host || !ep.attached) return liveView(ep);
  const doc = clone(ep.doc);
  if (!hostAddressPresent(c, s.networks[key(ep.doc.HostComputeNetwork ?? '')], ep)) delete doc.HostComputeNamespace;
  return doc;
}

export async function createEndpoint(c: LinuxContext, networkId: string, doc: HostComputeEndpoint): Promise<HostComputeEndpoint> {
  const id = doc.ID ?? newId();
  // In a CNI ADD the IPAM reservation exists by now: the first of the three crash points of that path.
  failpoint(c.env, 'linux.endpoint.before-create');
  const created = await c.mutate(
    'HcnCreateEndpoint',
    `endpoint ${doc.Name ?? id}`,
    (s) => {
      const net = c.network(s, networkId, 'HcnCreateEndpoint');
      if (s.endpoints[key(id)]) throw HnsError.of('ERROR_ALREADY_EXISTS', { call: 'HcnCreateEndpoint', subject: `endpoint ${id}` });
      if (doc.HostComputeNamespace)
        throw new BadNetworkError('HostComputeNamespace is read-only: attach the endpoint to a namespace instead');
      const stored: HostComputeEndpoint = { ...clone(doc), ID: id, HostComputeNetwork: net.doc.ID, SchemaVersion: { ...SCHEMA_V2 } };
      checkEndpointAddresses(stored);
      checkEndpointPolicies(net, stored.Policies);
      checkHostPorts(s, stored, 'HcnCreateEndpoint', `endpoint ${doc.Name ?? id}`);
      // Read only (addresses in use): scanned without the tracker's proxies.
      const peers = Object.values(untracked(s.endpoints)).filter((e) => key(e.doc.HostComputeNetwork ?? '') === key(net.doc.ID!));
      assignAddress(net, peers, stored, id);
      s.endpoints[key(id)] = { doc: stored };
      c.syncRules(s, false, s.endpoints[key(id)]);
      return clone(stored);
    },
    { deferrable: true },
  );
  failpoint(c.env, 'linux.endpoint.after-create');
  return created;
}

export async function deleteEndpoint(c: LinuxContext, id: string): Promise<void> {
  // As detachEndpoint: the record first, a pod veth's deletion after it and off the lock.
  const unlink = await c.mutate(
    'HcnDeleteEndpoint',
    `endpoint ${id}`,
    (s) => {
      const ep = c.endpoint(s, id, 'HcnDeleteEndpoint');
      const rest = detachLater(c.rt, s.networks[key(ep.doc.HostComputeNetwork ?? '')], ep);
      delete s.endpoints[key(id)];
      for (const ns of Object.values(s.namespaces))
        ns.doc.Resources = (ns.doc.Resources ?? []).filter(
          (r) => !(r.Type === 'Endpoint' && key(String(r.Data.ID ?? r.Data.Id ?? '')) === key(id)),
        );
      c.syncRules(s, false, ep);
      return rest;
    },
    { deferrable: true },
  );
  await c.afterMutation(unlink());
}

/**
 * The endpoint as the kernel has it: an attached endpoint whose pod interface is gone is reported without
 * HostComputeNamespace, and only the addresses still on the interface are reported, so CNI CHECK notices a
 * deleted link or address the way HNS reports a missing port.
 */
export function liveView(ep: EndpointRecord): HostComputeEndpoint {
  const doc = clone(ep.doc);
  if (!ep.attached || !ep.netns || !ep.ifname) return doc;
  let nsFd: number;
  try {
    nsFd = fs.openSync(ep.netns, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') delete doc.HostComputeNamespace;
    return doc;
  }
  let pod: Rtnl | undefined;
  try {
    pod = Rtnl.openIn(nsFd, ep.netns);
    const link = pod.linkByName(ep.ifname);
    if (!link) {
      delete doc.HostComputeNamespace;
      return doc;
    }
    const have = new Set(pod.addresses(link.index).map((a) => `${a.ip}/${a.prefixLen}`));
    doc.IpConfigurations = (doc.IpConfigurations ?? []).filter((c) => !c.IpAddress || have.has(`${c.IpAddress}/${c.PrefixLength ?? 32}`));
    return doc;
  } catch {
    return doc;
  } finally {
    pod?.close();
    fs.closeSync(nsFd);
  }
}

export function markDetached(ep: EndpointRecord): void {
  delete ep.attaching;
  delete ep.attached;
  delete ep.netns;
  delete ep.ifname;
  delete ep.veth;
  delete ep.host;
  delete ep.doc.HostComputeNamespace;
}
