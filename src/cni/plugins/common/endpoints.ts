/**
 * The endpoint half of the reference win-* plugins, shared by win-bridge and win-overlay (and overlayMac by
 * switchyard): the HNS v1 / HCN v2 endpoint documents, AddHnsEndpoint / AddHcnEndpoint (find, re-create
 * a corrupted one, create, attach, undo on failure) and GenerateHnsEndpoint / GenerateHcnEndpoint.
 */
import type { HostNetworkService } from '../../../dataplane/types';
import type { HostComputeEndpoint, HnsV1Endpoint } from '../../../hns';
import { annotate } from '../../protocol/errors';
import type { BaseNetConf, DnsConf, Policy } from '../../config/netconf';
import type { IP } from '../../ipam/ip';
import { ipamAdd, type IpamCall } from '../../ipam';
import type { CniResult } from '../../protocol/result';
import {
  checkCachedNetwork,
  dsrSupported,
  networkGone,
  PAUSE_NETNS,
  sameId,
  v1Attach,
  v1Attached,
  v1CreateEndpoint,
  v1DeleteEndpoint,
  v1Detach,
  v1EndpointByName,
  v2EndpointByName,
  v2RemoveEndpoint,
  v2RemoveEndpointById,
} from './hns';
import { applyLoopbackDsr, hcnEndpointPolicies, hnsEndpointPolicies } from './policies';
import { macFromIpv4 } from '../../../net/mac';

export const eqFold = (a: string | undefined, b: string) => (a ?? '').toLowerCase() === b.toLowerCase();

/**
 * What an ADD did, so a later failure takes back exactly that (the reference leaves an endpoint behind,
 * and releases IPAM even when this ADD allocated nothing):
 * - `undo` removes the endpoint this ADD created; `undoFailed` records that it could not, and then the
 *   address stays reserved because the endpoint still carries it;
 * - `allocated`: this ADD ran IPAM ADD, so its reservation is its own to release;
 * - `reused`: the endpoint existed before this ADD (a retried or repeated ADD): its addresses must be
 *   reserved for the owner (src/cni/invariant.ts), and `remove` replaces it when they are another's.
 */
export interface Created {
  undo?: () => Promise<void>;
  undoFailed?: boolean;
  allocated?: boolean;
  reused?: { ips: string[]; remove: () => Promise<void> };
}

/** IPAM ADD for an endpoint this ADD is about to create, after dropping the attachment's stale reservations. */
export async function allocateFor(call: IpamCall, created: Created): Promise<CniResult> {
  created.allocated = true;
  return ipamAdd(call, { dropStale: true });
}

/** endpointMacPrefix + the IPv4 octets in two-digit lowercase hex. */
export function overlayMac(prefix: string, ip: IP): string {
  return macFromIpv4(prefix, ip)!;
}

// ---- documents ---------------------------------------------------------------------------------

export interface EpInfo {
  name: string;
  networkId: string;
  ip: string;
  gateway: string;
  mac?: string;
  dns: DnsConf;
}

export function hnsEndpointDoc(ep: EpInfo, policies: Policy[]): HnsV1Endpoint {
  const doc: HnsV1Endpoint = { Name: ep.name, VirtualNetwork: ep.networkId };
  const pols = hnsEndpointPolicies(policies);
  if (pols.length) doc.Policies = pols as HnsV1Endpoint['Policies'];
  if (ep.mac) doc.MacAddress = ep.mac;
  if (ep.ip) doc.IPAddress = ep.ip;
  const suffix = (ep.dns.search ?? []).join(',');
  const servers = (ep.dns.nameservers ?? []).join(',');
  if (suffix) doc.DNSSuffix = suffix;
  if (servers) doc.DNSServerList = servers;
  if (ep.gateway) doc.GatewayAddress = ep.gateway;
  return doc;
}

export function hcnEndpointDoc(ep: EpInfo, policies: Policy[]): HostComputeEndpoint {
  const doc: HostComputeEndpoint = { Name: ep.name, HostComputeNetwork: ep.networkId };
  const pols = hcnEndpointPolicies(policies);
  if (pols.length) doc.Policies = pols as HostComputeEndpoint['Policies'];
  if (ep.ip) doc.IpConfigurations = [{ IpAddress: ep.ip }];
  const dns: NonNullable<HostComputeEndpoint['Dns']> = {};
  if (ep.dns.domain) dns.Domain = ep.dns.domain;
  if (ep.dns.search?.length) dns.Search = ep.dns.search;
  if (ep.dns.nameservers?.length) dns.ServerList = ep.dns.nameservers;
  if (ep.dns.options?.length) dns.Options = ep.dns.options;
  doc.Dns = dns;
  if (ep.gateway) doc.Routes = [{ NextHop: ep.gateway, DestinationPrefix: ep.gateway.includes(':') ? '::/0' : '0.0.0.0/0' }];
  if (ep.mac) doc.MacAddress = ep.mac;
  doc.Health = { Extra: {} };
  doc.SchemaVersion = { Major: 2, Minor: 0 };
  return doc;
}

// ---- endpoint add (AddHnsEndpoint / AddHcnEndpoint) -----------------------------------------------

export async function addHnsEndpoint(
  s: HostNetworkService,
  epName: string,
  networkId: string,
  containerID: string,
  netns: string,
  make: () => Promise<HnsV1Endpoint>,
  created: Created,
): Promise<HnsV1Endpoint> {
  let ep = await v1EndpointByName(s, epName);
  if (ep && !sameId(ep.VirtualNetwork, networkId)) {
    checkCachedNetwork(s, networkId, epName);
    try {
      await v1DeleteEndpoint(s, ep.ID!);
    } catch (e) {
      throw annotate(e, `failed to delete corrupted HNSEndpoint ${epName}`);
    }
    ep = undefined;
  }
  if (netns !== PAUSE_NETNS && !ep) throw new Error(`failed to find HNSEndpoint ${epName}: Endpoint ${epName} not found`);
  let isNew = false;
  if (!ep) {
    let doc: HnsV1Endpoint;
    try {
      doc = await make();
    } catch (e) {
      throw annotate(e, 'failed to make a new HNSEndpoint');
    }
    try {
      ep = await v1CreateEndpoint(s, doc);
    } catch (e) {
      networkGone(s, networkId, e);
      throw annotate(e, 'failed to create the new HNSEndpoint');
    }
    isNew = true;
    const id = ep.ID!;
    created.undo = async () => {
      await v1Detach(s, id, containerID).catch(() => undefined);
      await v1DeleteEndpoint(s, id);
    };
  } else if (netns === PAUSE_NETNS) {
    const id = ep.ID!;
    created.reused = {
      ips: ep.IPAddress ? [ep.IPAddress] : [],
      remove: async () => {
        await v1Detach(s, id, containerID).catch(() => undefined);
        await v1DeleteEndpoint(s, id);
      },
    };
  }
  if (!v1Attached(ep, containerID)) {
    try {
      await v1Attach(s, ep.ID!, containerID);
    } catch (e) {
      if (isNew) {
        try {
          await v1DeleteEndpoint(s, ep.ID!);
          created.undo = undefined;
        } catch (e2) {
          throw annotate(e2, `failed to remove the new HNSEndpoint ${ep.ID} after attaching container ${containerID} failure`);
        }
      }
      throw annotate(e, `failed to attach container ${containerID} to HNSEndpoint ${ep.ID}`);
    }
  }
  return ep;
}

export async function addHcnEndpoint(
  s: HostNetworkService,
  epName: string,
  networkId: string,
  netns: string,
  ifName: string,
  make: () => Promise<HostComputeEndpoint>,
  created: Created,
): Promise<HostComputeEndpoint> {
  let ep: HostComputeEndpoint | undefined;
  try {
    ep = await v2EndpointByName(s, epName);
  } catch (e) {
    throw annotate(e, `failed to find HostComputeEndpoint ${epName}`);
  }
  if (ep && !sameId(ep.HostComputeNetwork, networkId)) {
    checkCachedNetwork(s, networkId, epName);
    await v2RemoveEndpoint(s, ep);
    ep = undefined;
  }
  let isNew = false;
  if (!ep) {
    let doc: HostComputeEndpoint;
    try {
      doc = await make();
    } catch (e) {
      throw annotate(e, 'failed to make a new HostComputeEndpoint');
    }
    try {
      ep = await s.createEndpoint(networkId, doc);
    } catch (e) {
      networkGone(s, networkId, e);
      throw annotate(e, 'failed to create the new HostComputeEndpoint');
    }
    isNew = true;
    const id = ep.ID!;
    created.undo = () => v2RemoveEndpointById(s, id);
  } else {
    const id = ep.ID!;
    created.reused = {
      ips: (ep.IpConfigurations ?? []).map((c) => c.IpAddress ?? '').filter((x) => x !== ''),
      remove: () => v2RemoveEndpointById(s, id),
    };
  }
  // Already in this namespace (a repeated ADD): nothing to do, rather than failing on HCN's duplicate add.
  if (!sameId(ep.HostComputeNamespace, netns)) {
    try {
      await s.attachEndpoint(netns, ep.ID!, { interfaceName: ifName });
    } catch (e) {
      if (isNew) {
        try {
          await v2RemoveEndpoint(s, ep);
          created.undo = undefined;
        } catch (e2) {
          throw annotate(e2, `failed to remove the new HostComputeEndpoint ${epName} after adding HostComputeNamespace ${netns} failure`);
        }
      }
      throw annotate(e, `failed to add HostComputeEndpoint ${epName} to HostComputeNamespace ${netns}`);
    }
  }
  return ep;
}

// ---- GenerateHnsEndpoint / GenerateHcnEndpoint (race re-check + loopback DSR) ------------------------

export async function generateHns(s: HostNetworkService, conf: BaseNetConf, policies: Policy[], ep: EpInfo): Promise<HnsV1Endpoint> {
  const existing = await v1EndpointByName(s, ep.name);
  if (existing) {
    if (sameId(existing.VirtualNetwork, ep.networkId)) throw new Error(`HNSEndpoint ${ep.name} is already existed`);
    try {
      await v1DeleteEndpoint(s, existing.ID!);
    } catch (e) {
      throw annotate(e, `failed to delete corrupted HNSEndpoint ${ep.name}`);
    }
  }
  if (conf.loopbackDSR && ep.ip && (await dsrSupported(s))) applyLoopbackDsr(policies, 1, ep.ip);
  return hnsEndpointDoc(ep, policies);
}

export async function generateHcn(s: HostNetworkService, conf: BaseNetConf, policies: Policy[], ep: EpInfo): Promise<HostComputeEndpoint> {
  // No second lookup by name here (the reference re-checks): addHcnEndpoint looked it up just before, and
  // each HCN call costs milliseconds on Windows; the documents HNS receives are unchanged.
  if (conf.loopbackDSR && ep.ip && (await dsrSupported(s))) applyLoopbackDsr(policies, 2, ep.ip);
  return hcnEndpointDoc(ep, policies);
}
