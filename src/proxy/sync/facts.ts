/**
 * Reads what the core needs from the host network service: the cluster network (type, ID, remote subnets)
 * and its endpoints (local ones by address, remote ones by address).
 */
import {
  EndpointFlags,
  HnsError,
  HRESULT,
  buildQuery,
  findPolicies,
  getCI,
  sameId,
  type HostComputeEndpoint,
  type HostComputeNetwork,
} from '../../hns';
import type { HostNetworkService } from '../../dataplane/types';
import { isIPv4, type ProxyNetworkType, type RemoteSubnet } from '../core';

export interface NetworkRef {
  /** The HNS network ID; wins over the name when both are given. */
  id?: string;
  /** kube-proxy --network-name / KUBE_NETWORK: `cbr0`, `flannel.4096`. */
  name?: string;
}

export interface NetworkFacts {
  id: string;
  name: string;
  type: ProxyNetworkType;
  remoteSubnets: RemoteSubnet[];
}

export async function readNetwork(hns: HostNetworkService, ref: NetworkRef): Promise<NetworkFacts> {
  let net: HostComputeNetwork | undefined;
  if (ref.id) net = await hns.getNetwork(ref.id);
  else if (ref.name) {
    net = (await hns.listNetworks(buildQuery({ Name: ref.name }))).find((n) => n.Name === ref.name);
    if (!net)
      throw new HnsError(
        HRESULT.HCN_E_NETWORK_NOT_FOUND,
        `the service proxy's network "${ref.name}" does not exist (yet)`,
        { call: 'HcnEnumerateNetworks', subject: `network ${ref.name}` },
        'not-found',
      );
  } else {
    throw new Error('proxy configuration: network.id or network.name must be set (the HNS network the pods are on)');
  }
  const type = String(net.Type ?? '');
  const kind = /^l2bridge$/i.test(type) ? 'L2Bridge' : /^overlay$/i.test(type) ? 'Overlay' : undefined;
  if (!kind)
    throw new Error(
      `proxy: network ${net.Name} (${net.ID}) is of type ${type || 'NAT'}; the service proxy supports L2Bridge and Overlay networks`,
    );
  const remoteSubnets: RemoteSubnet[] = [];
  for (const p of findPolicies(net.Policies, 'RemoteSubnetRoute')) {
    const prefix = getCI<string>(p.Settings, 'DestinationPrefix');
    const pa = getCI<string>(p.Settings, 'ProviderAddress');
    if (prefix && pa) remoteSubnets.push({ prefix, providerAddress: pa });
  }
  return { id: String(net.ID), name: String(net.Name ?? ''), type: kind, remoteSubnets };
}

export interface EndpointIndex {
  /** Local endpoints: address → ID. */
  local: Map<string, string>;
  /** Remote endpoints (Flags 1): address → ID. */
  remote: Map<string, string>;
}

export function ipOf(ep: HostComputeEndpoint): string | undefined {
  return (ep.IpConfigurations ?? []).map((c) => c.IpAddress).find((ip) => isIPv4(ip));
}

export async function readEndpoints(hns: HostNetworkService, networkId: string): Promise<EndpointIndex> {
  const all = await hns.listEndpoints(buildQuery({ HostComputeNetwork: networkId }));
  const out: EndpointIndex = { local: new Map(), remote: new Map() };
  for (const ep of all) {
    // Some hosts ignore the filter; keep to the network either way.
    if (ep.HostComputeNetwork && !sameId(ep.HostComputeNetwork, networkId)) continue;
    const ip = ipOf(ep);
    if (!ip || !ep.ID) continue;
    const remote = ((ep.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0;
    // The ID wins over a duplicate address (the WS2019 bug kube-proxy works around): first one seen.
    const map = remote ? out.remote : out.local;
    if (!map.has(ip)) map.set(ip, ep.ID);
  }
  return out;
}
