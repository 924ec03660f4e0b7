/**
 * One read of everything the data plane holds (networks, endpoints, namespaces, load balancers) plus its
 * version, so status, diagram and diagnose look at the same consistent picture. Pure over the interface:
 * it works on every data plane.
 */
import type { HostNetworkService } from '../dataplane/types';
import type { HostComputeNetwork, Subnet } from '../hns/network';
import type { HostComputeEndpoint } from '../hns/endpoint';
import type { HostComputeNamespace } from '../hns/namespace';
import type { HostComputeLoadBalancer } from '../hns/loadbalancer';
import { findPolicies } from '../hns/policy';
import { sameId } from '../hns/json';

export interface DataplaneSnapshot {
  dataplane: string;
  hnsVersion?: string;
  networks: HostComputeNetwork[];
  endpoints: HostComputeEndpoint[];
  namespaces: HostComputeNamespace[];
  loadBalancers: HostComputeLoadBalancer[];
  /** Reads that failed (e.g. load balancers on a data plane without them), each naming the call. */
  errors: string[];
}

export async function readSnapshot(svc: HostNetworkService): Promise<DataplaneSnapshot> {
  const errors: string[] = [];
  const attempt = async <T>(call: string, fn: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      errors.push(`${call}: ${(e as Error).message}`);
      return fallback;
    }
  };
  const v = await attempt('version', () => svc.version(), undefined);
  return {
    dataplane: svc.kind,
    ...(v ? { hnsVersion: `${v.Major}.${v.Minor}` } : {}),
    networks: await attempt('HcnEnumerateNetworks', () => svc.listNetworks(), []),
    endpoints: await attempt('HcnEnumerateEndpoints', () => svc.listEndpoints(), []),
    namespaces: await attempt('HcnEnumerateNamespaces', () => svc.listNamespaces(), []),
    loadBalancers: await attempt('HcnEnumerateLoadBalancers', () => svc.listLoadBalancers(), []),
    errors,
  };
}

export function subnetsOf(n: HostComputeNetwork): Subnet[] {
  return (n.Ipams ?? []).flatMap((i) => i.Subnets ?? []);
}

export function vniOf(n: HostComputeNetwork): number | undefined {
  for (const s of subnetsOf(n)) {
    const p = findPolicies(s.Policies, 'VSID')[0] as { Settings?: { IsolationId?: number } } | undefined;
    if (p?.Settings?.IsolationId !== undefined) return Number(p.Settings.IsolationId);
  }
  return undefined;
}

export function providerAddressOf(n: HostComputeNetwork): string | undefined {
  const p = findPolicies(n.Policies, 'ProviderAddress')[0] as { Settings?: { ProviderAddress?: string } } | undefined;
  return p?.Settings?.ProviderAddress;
}

export interface RemoteSubnet {
  network: string;
  prefix: string;
  providerAddress: string;
  vni: number;
  drMac?: string;
}

/** The network's peer routes (flannel's RemoteSubnetRoute policies): one per remote node's pod subnet. */
export function remoteSubnetsOf(n: HostComputeNetwork): RemoteSubnet[] {
  return findPolicies(n.Policies, 'RemoteSubnetRoute').map((p) => {
    const s = (p as { Settings?: Record<string, unknown> }).Settings ?? {};
    return {
      network: n.Name ?? n.ID ?? '',
      prefix: String(s.DestinationPrefix ?? ''),
      providerAddress: String(s.ProviderAddress ?? ''),
      vni: Number(s.IsolationId ?? 0),
      ...(s.DistributedRouterMacAddress ? { drMac: String(s.DistributedRouterMacAddress) } : {}),
    };
  });
}

export function endpointIps(e: HostComputeEndpoint): string[] {
  return (e.IpConfigurations ?? []).map((c) => (c.PrefixLength !== undefined ? `${c.IpAddress}/${c.PrefixLength}` : String(c.IpAddress)));
}

/** HostDefault namespace membership: the endpoint gives the host itself an address (flannel's cbr0_ep). */
export function isHostEndpoint(snap: DataplaneSnapshot, e: HostComputeEndpoint): boolean {
  if (!e.HostComputeNamespace) return false;
  const ns = snap.namespaces.find((n) => sameId(n.ID, e.HostComputeNamespace));
  return ns?.Type === 'HostDefault';
}

/** Name where one exists, else the ID: what tables and pictures show. */
export function nameOf(list: { ID?: string; Name?: string }[], id: string | undefined): string {
  if (!id) return '-';
  const o = list.find((x) => sameId(x.ID, id));
  return o?.Name || id;
}
