/**
 * HNS v1 (HNSCall JSON) ⇄ HCN v2 (HostCompute* documents), docs/hcn-model.md ("HNS v1"); each policy
 * type's v1 form is in its descriptor (src/hns/policies/). Pure: no I/O, inputs are not modified.
 *
 * v1 policies are flat (`{Type, ...fields}`), v2 policies wrap their fields (`{Type, Settings}`). Types
 * without a known counterpart pass through: v1 → v2 moves the fields into Settings, v2 → v1 flattens them.
 */
import { canonicalNetworkType, getCI } from './json';
import { SCHEMA_V2, type Dns, type Route } from './schema';
import type { HostComputeNetwork, Ipam, Subnet } from './network';
import type { HostComputeEndpoint, IpConfig } from './endpoint';
import type { HostComputeNamespace } from './namespace';
import type { HostComputeLoadBalancer, LoadBalancerPortMapping } from './loadbalancer';
import type { HnsV1Endpoint, HnsV1Namespace, HnsV1Network, HnsV1Policy, HnsV1PolicyList, HnsV1Subnet } from './v1';
import type { EndpointPolicy, NetworkPolicy, SubnetPolicy } from './policy';
import { policyTypeIs } from './policy';
import { clean, flatten, protocolNumber, wrap } from './policies/v1-form';
import { V1_NETWORK_FIELD_POLICIES, policyDescriptor, policyDescriptorByV1Type } from './policies';

/** A v1 document that has no faithful v2 form (or the reverse); names the field at fault. */
export class ConversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConversionError';
  }
}

/**
 * A v2 document with content the v1 form cannot carry (hcsshim's v1 types have no field for it). `field` is the
 * path of the v2 field at fault; the hns-v1 data plane refuses the request as `unsupported` instead of dropping it.
 */
export class V1UnsupportedError extends ConversionError {
  constructor(
    readonly field: string,
    why: string,
  ) {
    super(`${field}: ${why}`);
    this.name = 'V1UnsupportedError';
  }
}

type Rec = Record<string, unknown>;

const DEFAULT_V4 = '0.0.0.0/0';
const DEFAULT_V6 = '::/0';
const isV6 = (ip: unknown): boolean => typeof ip === 'string' && ip.includes(':');

/** "a, b,,c" → ["a","b","c"]; undefined/empty → undefined. */
export function splitList(s: unknown): string[] | undefined {
  if (typeof s !== 'string') return Array.isArray(s) ? (s as string[]) : undefined;
  const parts = s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  return parts.length ? parts : undefined;
}

function joinList(a: unknown): string | undefined {
  return Array.isArray(a) && a.length ? a.join(',') : undefined;
}

export { protocolName, protocolNumber } from './policies/v1-form';

// ---- policies ---------------------------------------------------------------------------------

/** One v1 endpoint policy → its v2 form (the registry's v1 form; unknown types pass through). */
export function endpointPolicyV1ToV2(p: HnsV1Policy): EndpointPolicy {
  const v1 = policyDescriptorByV1Type('endpoint', String(p.Type ?? ''))?.v1;
  return v1?.toV2 ? v1.toV2(p) : wrap(p);
}

/** One v2 endpoint policy → its v1 flat form. */
export function endpointPolicyV2ToV1(p: EndpointPolicy): HnsV1Policy {
  const v1 = policyDescriptor('endpoint', p.Type)?.v1;
  return v1?.toV1 ? v1.toV1((p.Settings ?? {}) as Rec) : flatten(p as { Type: string; Settings?: unknown });
}

/** Throws V1UnsupportedError when a v2 endpoint policy list holds content its v1 forms cannot carry. */
export function assertEndpointPoliciesV1(policies: readonly EndpointPolicy[] | undefined, path = 'Policies'): void {
  (policies ?? []).forEach((p, i) => {
    const why = policyDescriptor('endpoint', p.Type)?.v1?.unsupported?.((p.Settings ?? {}) as Rec);
    if (why) {
      const m = /^(\S+) \((.*)\)$/.exec(why);
      throw new V1UnsupportedError(`${path}[${i}].Settings.${m ? m[1] : why}`, m ? m[2] : `not expressible in HNS v1 ${p.Type}`);
    }
  });
}

const LB_PORT_MAPPING_FLAGS_V1: readonly [number, string][] = [
  [2, 'LocalRoutedVIP'],
  [4, 'UseMux'],
  [8, 'PreserveDIP'],
  [16, 'VipExternalIP'],
];

/**
 * Throws V1UnsupportedError when a load balancer holds what a v1 ELB policy (hcsshim ELBPolicy: Protocol,
 * InternalPort, ExternalPort, SourceVIP, VIPs, ILB, IsDSR) cannot say.
 */
export function assertLoadBalancerV1(lb: HostComputeLoadBalancer): void {
  const flags = lb.Flags ?? 0;
  if (flags & 2) throw new V1UnsupportedError('Flags', 'IPv6 (2): a v1 ELB policy has no address-family flag');
  if (flags & ~3) throw new V1UnsupportedError('Flags', `${flags}: a v1 ELB policy carries only IsDSR`);
  (lb.PortMappings ?? []).forEach((pm, i) => {
    const f = pm.Flags ?? 0;
    for (const [bit, name] of LB_PORT_MAPPING_FLAGS_V1) {
      if (f & bit) throw new V1UnsupportedError(`PortMappings[${i}].Flags`, `${name} (${bit}): a v1 ELB policy carries only ILB`);
    }
    if (f & ~31) throw new V1UnsupportedError(`PortMappings[${i}].Flags`, `${f}: a v1 ELB policy carries only ILB`);
    if (pm.DistributionType) {
      throw new V1UnsupportedError(
        `PortMappings[${i}].DistributionType`,
        `${pm.DistributionType}: a v1 ELB policy has no distribution type`,
      );
    }
  });
}

function subnetPolicyV1ToV2(p: HnsV1Policy): SubnetPolicy | undefined {
  const v1 = policyDescriptorByV1Type('subnet', String(p.Type ?? ''))?.v1;
  return v1?.toV2 ? (v1.toV2(p) as unknown as SubnetPolicy) : undefined;
}

function subnetPolicyV2ToV1(p: SubnetPolicy): HnsV1Policy {
  const v1 = policyDescriptor('subnet', p.Type)?.v1;
  return v1?.toV1 ? v1.toV1((p.Settings ?? {}) as Rec) : flatten(p as { Type: string; Settings?: unknown });
}

// ---- networks ---------------------------------------------------------------------------------

/** v1 network (POST /networks/ body or GET output) → HostComputeNetwork. */
export function networkV1ToV2(n: HnsV1Network): HostComputeNetwork {
  const g = (k: string) => getCI(n, k);
  const policies: NetworkPolicy[] = [];
  for (const d of V1_NETWORK_FIELD_POLICIES) {
    const settings = d.v1Network!.fromV1(n);
    if (settings) policies.push({ Type: d.type, Settings: settings } as NetworkPolicy);
  }

  // Network-level VSID/VLAN policies (moby's driver) are per-subnet isolation in v2.
  const isolation: SubnetPolicy[] = [];
  for (const p of (g('Policies') as HnsV1Policy[] | undefined) ?? []) {
    const sp = subnetPolicyV1ToV2(p);
    if (sp) isolation.push(sp);
    else policies.push(wrap(p) as NetworkPolicy);
  }

  const subnets: Subnet[] = ((g('Subnets') as HnsV1Subnet[] | undefined) ?? []).map((s) => {
    const prefix = getCI<string>(s, 'AddressPrefix');
    const gw = getCI<string>(s, 'GatewayAddress');
    const own = (getCI<HnsV1Policy[]>(s, 'Policies') ?? []).map((p) => subnetPolicyV1ToV2(p) ?? (wrap(p) as unknown as SubnetPolicy));
    const sub: Subnet = clean({
      ID: getCI<string>(s, 'ID'),
      IpAddressPrefix: prefix,
      Routes: gw ? [{ NextHop: gw, DestinationPrefix: isV6(gw) || isV6(prefix) ? DEFAULT_V6 : DEFAULT_V4 }] : undefined,
      Policies:
        own.length || isolation.length ? [...own, ...isolation.filter((i) => !own.some((o) => policyTypeIs(o, i.Type)))] : undefined,
    });
    return sub;
  });

  const dnsServers = splitList(g('DNSServerList'));
  const dnsSuffix = g('DNSSuffix') as string | undefined;
  const dns: Dns | undefined = dnsServers || dnsSuffix ? clean({ ServerList: dnsServers, Domain: dnsSuffix || undefined }) : undefined;
  const pools = g('MacPools') as { StartMacAddress: string; EndMacAddress: string }[] | undefined;
  const type = g('Type');

  return clean({
    ID: g('ID') as string | undefined,
    Name: g('Name') as string | undefined,
    Type: type === undefined ? undefined : canonicalNetworkType(type),
    Flags: g('Flags') as number | undefined,
    Policies: policies.length ? policies : undefined,
    MacPool: pools?.length
      ? { Ranges: pools.map((r) => ({ StartMacAddress: r.StartMacAddress, EndMacAddress: r.EndMacAddress })) }
      : undefined,
    Dns: dns,
    Ipams: subnets.length ? [{ Type: 'Static', Subnets: subnets } as Ipam] : undefined,
    AdditionalParams: g('AdditionalParams'),
    Health: g('Health') as HostComputeNetwork['Health'],
    SchemaVersion: { ...SCHEMA_V2 },
  });
}

function gatewayOf(routes: Route[] | undefined, v6: boolean): string | undefined {
  const def = (routes ?? []).find((r) => r.DestinationPrefix === (v6 ? DEFAULT_V6 : DEFAULT_V4) && r.NextHop);
  if (def) return def.NextHop;
  return (routes ?? []).find((r) => r.NextHop && isV6(r.NextHop) === v6)?.NextHop;
}

/** HostComputeNetwork → v1 network as GET /networks/ returns it. */
export function networkV2ToV1(n: HostComputeNetwork): HnsV1Network {
  const out: HnsV1Network = { ID: n.ID, Name: n.Name, Type: canonicalNetworkType(n.Type) };
  const policies: HnsV1Policy[] = [];
  for (const p of n.Policies ?? []) {
    const field = policyDescriptor('network', p.Type)?.v1Network;
    if (field) field.toV1((p.Settings ?? {}) as Rec, out as unknown as Rec);
    else policies.push(flatten(p as { Type: string; Settings?: unknown }));
  }
  if (policies.length) out.Policies = policies;
  const subnets: HnsV1Subnet[] = [];
  for (const ipam of n.Ipams ?? []) {
    for (const s of ipam.Subnets ?? []) {
      const v6 = isV6(s.IpAddressPrefix);
      subnets.push(
        clean({
          ID: s.ID,
          AddressPrefix: s.IpAddressPrefix,
          GatewayAddress: gatewayOf(s.Routes, v6),
          Policies: s.Policies?.length ? s.Policies.map(subnetPolicyV2ToV1) : undefined,
        }),
      );
    }
  }
  if (subnets.length) out.Subnets = subnets;
  if (n.MacPool?.Ranges?.length) out.MacPools = n.MacPool.Ranges.map((r) => ({ ...r }));
  if (n.Dns) {
    const servers = joinList(n.Dns.ServerList);
    if (servers) out.DNSServerList = servers;
    const suffix = n.Dns.Domain || joinList(n.Dns.Search);
    if (suffix) out.DNSSuffix = suffix;
  }
  if (n.Flags !== undefined) out.Flags = n.Flags;
  if (n.Health !== undefined) out.Health = n.Health;
  return clean(out as Rec) as HnsV1Network;
}

// ---- endpoints --------------------------------------------------------------------------------

/** v1 endpoint (POST /endpoints/ body or GET output) → HostComputeEndpoint. */
export function endpointV1ToV2(e: HnsV1Endpoint): HostComputeEndpoint {
  const g = (k: string) => getCI(e, k);
  const ipcs: IpConfig[] = [];
  const ip = g('IPAddress') as string | undefined;
  if (ip) ipcs.push(clean({ IpAddress: ip, PrefixLength: g('PrefixLength') as number | undefined }));
  const ip6 = g('IPv6Address') as string | undefined;
  if (ip6) ipcs.push(clean({ IpAddress: ip6, PrefixLength: g('IPv6PrefixLength') as number | undefined }));
  const routes: Route[] = [];
  const gw = g('GatewayAddress') as string | undefined;
  if (gw) routes.push({ NextHop: gw, DestinationPrefix: isV6(gw) ? DEFAULT_V6 : DEFAULT_V4 });
  const gw6 = g('GatewayAddressV6') as string | undefined;
  if (gw6) routes.push({ NextHop: gw6, DestinationPrefix: DEFAULT_V6 });
  const servers = splitList(g('DNSServerList'));
  const search = splitList(g('DNSSuffix'));
  const domain = g('DNSDomain') as string | undefined;
  const dns: Dns | undefined =
    servers || search || domain ? clean({ ServerList: servers, Search: search, Domain: domain || undefined }) : undefined;
  let flags = 0;
  if (g('IsRemoteEndpoint')) flags |= 1;
  if (g('DisableICC')) flags |= 2;
  if (g('EnableLowMetric')) flags |= 8;
  const policies = ((g('Policies') as HnsV1Policy[] | undefined) ?? []).map(endpointPolicyV1ToV2);
  const encap = g('EncapOverhead');
  if (typeof encap === 'number' && encap > 0) policies.push({ Type: 'EncapOverhead', Settings: { Overhead: encap } });
  const shared = g('SharedContainers') as string[] | undefined;
  const health = g('Health') as HostComputeEndpoint['Health'];
  return clean({
    ID: g('ID') as string | undefined,
    Name: g('Name') as string | undefined,
    HostComputeNetwork: g('VirtualNetwork') as string | undefined,
    Policies: policies.length ? policies : undefined,
    IpConfigurations: ipcs.length ? ipcs : undefined,
    Dns: dns,
    Routes: routes.length ? routes : undefined,
    MacAddress: (g('MacAddress') as string | undefined) || undefined,
    Flags: flags || undefined,
    Health: shared?.length ? { ...(health ?? {}), Extra: { ...(health?.Extra ?? {}), SharedContainers: [...shared] } } : health,
    SchemaVersion: { ...SCHEMA_V2 },
  });
}

export interface EndpointV1Extras {
  /** Name of the endpoint's network (v1 `VirtualNetworkName`). */
  networkName?: string;
  /** v1 State; defaults to 2 (Attached) when attached to a namespace or a container, else 1 (Created). */
  state?: number;
  /** Whether the endpoint's namespace is the host default one. */
  namespaceIsDefault?: boolean;
}

/** HostComputeEndpoint → v1 endpoint as GET /endpoints/ returns it. */
export function endpointV2ToV1(e: HostComputeEndpoint, extras: EndpointV1Extras = {}): HnsV1Endpoint {
  const out: HnsV1Endpoint = { ID: e.ID, Name: e.Name, VirtualNetwork: e.HostComputeNetwork };
  if (extras.networkName !== undefined) out.VirtualNetworkName = extras.networkName;
  const policies = (e.Policies ?? []).filter((p) => !policyTypeIs(p, 'EncapOverhead')).map(endpointPolicyV2ToV1);
  if (policies.length) out.Policies = policies;
  if (e.MacAddress) out.MacAddress = e.MacAddress;
  const v4 = (e.IpConfigurations ?? []).find((c) => c.IpAddress && !isV6(c.IpAddress));
  const v6 = (e.IpConfigurations ?? []).find((c) => c.IpAddress && isV6(c.IpAddress));
  if (v4) {
    out.IPAddress = v4.IpAddress;
    if (v4.PrefixLength !== undefined) out.PrefixLength = v4.PrefixLength;
  }
  if (v6) {
    out.IPv6Address = v6.IpAddress;
    if (v6.PrefixLength !== undefined) out.IPv6PrefixLength = v6.PrefixLength;
  }
  const gw = gatewayOf(e.Routes, false);
  if (gw) out.GatewayAddress = gw;
  const gw6 = gatewayOf(e.Routes, true);
  if (gw6) out.GatewayAddressV6 = gw6;
  const servers = joinList(e.Dns?.ServerList);
  if (servers) out.DNSServerList = servers;
  const search = joinList(e.Dns?.Search);
  if (search) out.DNSSuffix = search;
  if (e.Dns?.Domain) out.DNSDomain = e.Dns.Domain;
  const flags = e.Flags ?? 0;
  if (flags & 1) out.IsRemoteEndpoint = true;
  if (flags & 2) out.DisableICC = true;
  if (flags & 8) out.EnableLowMetric = true;
  const encap = (e.Policies ?? []).find((p) => policyTypeIs(p, 'EncapOverhead'));
  const overhead = getCI<number>(encap?.Settings, 'Overhead');
  if (overhead !== undefined) out.EncapOverhead = overhead;
  if (e.HostComputeNamespace) {
    out.Namespace = clean({ ID: e.HostComputeNamespace, IsDefault: extras.namespaceIsDefault });
  }
  const shared = e.Health?.Extra?.SharedContainers;
  if (shared?.length) out.SharedContainers = [...shared];
  out.State = extras.state ?? (e.HostComputeNamespace || shared?.length ? 2 : 1);
  return clean(out);
}

// ---- namespaces -------------------------------------------------------------------------------

export function namespaceV2ToV1(ns: HostComputeNamespace): HnsV1Namespace {
  return clean({
    ID: ns.ID,
    IsDefault: String(ns.Type ?? '').toLowerCase() === 'hostdefault',
    CompartmentId: ns.NamespaceId,
    ResourceList: (ns.Resources ?? []).map((r) => ({ Type: r.Type, Data: { ...r.Data } })),
  });
}

export function namespaceV1ToV2(ns: HnsV1Namespace): HostComputeNamespace {
  return clean({
    ID: getCI<string>(ns, 'ID'),
    Type: getCI(ns, 'IsDefault') ? 'HostDefault' : 'Host',
    NamespaceId: getCI<number>(ns, 'CompartmentId'),
    SchemaVersion: { ...SCHEMA_V2 },
  });
}

// ---- load balancers ⇄ policy lists ------------------------------------------------------------

const ENDPOINT_REF = /^\/endpoints\/([^/]+)\/?$/i;

/** HostComputeLoadBalancer → v1 policy list (one ELB policy per port mapping). */
export function loadBalancerToPolicyList(lb: HostComputeLoadBalancer): HnsV1PolicyList {
  const dsr = ((lb.Flags ?? 0) & 1) !== 0;
  return {
    ID: lb.ID,
    References: (lb.HostComputeEndpoints ?? []).map((id) => `/endpoints/${id}`),
    Policies: (lb.PortMappings ?? []).map((pm) =>
      clean({
        Type: 'ELB',
        Protocol: pm.Protocol,
        InternalPort: pm.InternalPort,
        ExternalPort: pm.ExternalPort,
        SourceVIP: lb.SourceVIP,
        VIPs: [...(lb.FrontendVIPs ?? [])],
        ILB: ((pm.Flags ?? 0) & 1) !== 0,
        IsDSR: dsr || undefined,
      }),
    ),
  };
}

export function isElbPolicyList(pl: HnsV1PolicyList): boolean {
  const ps = getCI<HnsV1Policy[]>(pl, 'Policies') ?? [];
  return ps.length > 0 && ps.every((p) => policyTypeIs(p, 'ELB'));
}

/** v1 ELB policy list → HostComputeLoadBalancer. The ELB policies must share SourceVIP, VIPs and IsDSR. */
export function policyListToLoadBalancer(pl: HnsV1PolicyList): HostComputeLoadBalancer {
  const policies = getCI<HnsV1Policy[]>(pl, 'Policies') ?? [];
  if (!isElbPolicyList(pl)) throw new ConversionError('policy list: only lists made of ELB policies are load balancers');
  const refs = getCI<string[]>(pl, 'References') ?? [];
  const endpoints = refs.map((r) => {
    const m = ENDPOINT_REF.exec(String(r));
    if (!m) throw new ConversionError(`policy list: reference "${r}" is not of the form /endpoints/<id>`);
    return m[1];
  });
  const first = policies[0];
  const vips = (getCI<string[]>(first, 'VIPs') ?? []).map(String);
  const sourceVip = getCI<string>(first, 'SourceVIP');
  const dsr = !!getCI(first, 'IsDSR');
  const mappings: LoadBalancerPortMapping[] = policies.map((p, i) => {
    const pv = (getCI<string[]>(p, 'VIPs') ?? []).map(String);
    if (pv.join(',').toLowerCase() !== vips.join(',').toLowerCase() || getCI(p, 'SourceVIP') !== sourceVip || !!getCI(p, 'IsDSR') !== dsr) {
      throw new ConversionError(
        `policy list: ELB policy ${i} has different VIPs/SourceVIP/IsDSR from policy 0; use one policy list per frontend`,
      );
    }
    const proto = protocolNumber(getCI(p, 'Protocol'));
    return clean({
      Protocol: proto ?? (getCI(p, 'Protocol') as number),
      InternalPort: getCI<number>(p, 'InternalPort') ?? 0,
      ExternalPort: getCI<number>(p, 'ExternalPort') ?? 0,
      Flags: getCI(p, 'ILB') ? 1 : undefined,
    }) as LoadBalancerPortMapping;
  });
  return clean({
    ID: getCI<string>(pl, 'ID'),
    HostComputeEndpoints: endpoints,
    SourceVIP: sourceVip,
    FrontendVIPs: vips,
    PortMappings: mappings,
    Flags: dsr ? 1 : undefined,
    SchemaVersion: { ...SCHEMA_V2 },
  });
}

// ---- shape detection --------------------------------------------------------------------------

const V1_NETWORK_KEYS = ['subnets', 'networkadaptername', 'managementip', 'dnsserverlist', 'dnssuffix', 'macpools', 'sourcemac'];
const V1_ENDPOINT_KEYS = [
  'virtualnetwork',
  'virtualnetworkname',
  'ipaddress',
  'gatewayaddress',
  'dnsserverlist',
  'dnssuffix',
  'isremoteendpoint',
  'prefixlength',
];

function hasAnyKey(doc: unknown, keys: string[]): boolean {
  if (!doc || typeof doc !== 'object') return false;
  return Object.keys(doc).some((k) => keys.includes(k.toLowerCase()) && k !== 'IpAddress');
}

function isV2Schema(doc: unknown): boolean {
  const sv = getCI<{ Major?: number }>(doc, 'SchemaVersion');
  return !!sv && typeof sv === 'object' && (getCI<number>(sv, 'Major') ?? 0) >= 2;
}

/** HcnCreateNetwork accepts v1-shaped JSON (no SchemaVersion, v1 field names): docs/hcn-model.md. */
export function looksLikeV1Network(doc: unknown): boolean {
  return !isV2Schema(doc) && hasAnyKey(doc, V1_NETWORK_KEYS) && getCI(doc, 'Ipams') === undefined;
}

export function looksLikeV1Endpoint(doc: unknown): boolean {
  return (
    !isV2Schema(doc) &&
    hasAnyKey(doc, V1_ENDPOINT_KEYS) &&
    getCI(doc, 'IpConfigurations') === undefined &&
    getCI(doc, 'HostComputeNetwork') === undefined
  );
}

/** True when two IDs (GUIDs in any case, with or without braces) name the same object. */
export { sameGuid } from '../net/id';
