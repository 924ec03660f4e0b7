/**
 * The wire documents: a desired load balancer with its backends' HNS IDs filled in, a remote endpoint, and
 * the comparison the sync uses to decide whether a programmed load balancer still matches.
 */
import { EndpointFlags, SCHEMA_V2, type HostComputeEndpoint, type HostComputeLoadBalancer } from '../../hns';
import type { DesiredLoadBalancer, DesiredRemoteEndpoint } from './types';

/**
 * The HostComputeLoadBalancer for `lb`, in hcsshim's field order and with its omitempty rule (zero flags,
 * an empty SourceVIP or FrontendVIPs are left out), as kube-proxy sends it. Backends `idOf` cannot resolve
 * are left out; the caller reports them.
 */
export function renderLoadBalancer(
  lb: DesiredLoadBalancer,
  idOf: (ip: string, local: boolean) => string | undefined,
): HostComputeLoadBalancer {
  const ids = lb.backends.map((b) => idOf(b.ip, b.local)).filter((id): id is string => !!id);
  const t = lb.template;
  const doc: HostComputeLoadBalancer = { HostComputeEndpoints: ids };
  if (t.SourceVIP) doc.SourceVIP = t.SourceVIP;
  if (t.FrontendVIPs?.length) doc.FrontendVIPs = [...t.FrontendVIPs];
  doc.PortMappings = (t.PortMappings ?? []).map((m) => ({ ...m }));
  doc.SchemaVersion = { ...(t.SchemaVersion ?? SCHEMA_V2) };
  if (t.Flags) doc.Flags = t.Flags;
  return doc;
}

/** The remote endpoint kube-proxy creates for a backend on another node (or an overlay service VIP). */
export function remoteEndpointDocument(r: DesiredRemoteEndpoint, networkId: string): HostComputeEndpoint {
  const doc: HostComputeEndpoint = {
    IpConfigurations: [{ IpAddress: r.ip }],
    MacAddress: r.mac,
    Flags: EndpointFlags.RemoteEndpoint,
    HostComputeNetwork: networkId,
  };
  if (r.providerAddress) doc.Policies = [{ Type: 'ProviderAddress', Settings: { ProviderAddress: r.providerAddress } }];
  doc.SchemaVersion = { ...SCHEMA_V2 };
  return doc;
}

/**
 * The part of a load balancer that decides how it forwards, in a canonical form: endpoint IDs as an
 * upper-case sorted set (HNS answers GUIDs upper-case), zero/absent fields alike, VIPs sorted.
 */
export function loadBalancerShape(lb: HostComputeLoadBalancer): string {
  const eps = (lb.HostComputeEndpoints ?? []).map((e) => String(e).toUpperCase()).sort();
  const pms = (lb.PortMappings ?? []).map((m) => [
    m.Protocol ?? 0,
    m.InternalPort ?? 0,
    m.ExternalPort ?? 0,
    m.DistributionType ?? 0,
    m.Flags ?? 0,
  ]);
  return JSON.stringify([eps, lb.SourceVIP ?? '', [...(lb.FrontendVIPs ?? [])].sort(), pms, lb.Flags ?? 0]);
}

export function sameLoadBalancer(a: HostComputeLoadBalancer, b: HostComputeLoadBalancer): boolean {
  return loadBalancerShape(a) === loadBalancerShape(b);
}
