/**
 * The checks HNS applies to documents before it creates or changes anything, with the HRESULT it
 * returns for each. Pure functions over the current state; they throw HnsError and never mutate.
 */
import {
  ENDPOINT_POLICY_TYPES, HRESULT, HRESULT_MESSAGES, HnsError, NETWORK_POLICY_TYPES, NETWORK_TYPES, canonicalNetworkType, formatVersion, getCI,
  minimumVersion, policyTypeIs, supports,
  type HnsFeature, type HnsVersion, type HresultName, type HostComputeNetwork, type Subnet,
} from '../../hns';
import { isGuid, normalizeGuid as canonicalGuid } from '../../net/id';
import { contains, hasHostBits, isMac, parseIp, prefixInRange, splitCidr as parseCidr, type IP as Ip, type IPNet as Cidr } from '../../net';

export interface Ctx {
  call: string;
  subject?: string;
  /** The RequestType as the caller spelled it, for messages. */
  requestType?: string;
}

export function fail(name: HresultName, ctx: Ctx, detail?: string): never {
  const hr = HRESULT[name];
  const text = HRESULT_MESSAGES[hr] ?? `${name} `;
  throw new HnsError(hr, detail ? `${text.trim()} ${detail}` : text, { call: ctx.call, subject: ctx.subject, record: text });
}

export { isGuid, normalizeGuid as canonicalGuid } from '../../net/id';

export function requireGuid(id: unknown, what: string, ctx: Ctx): string {
  if (!isGuid(id)) fail('HCN_E_GUID_CONVERSION_FAILURE', ctx, `(${what} "${String(id)}" is not a GUID)`);
  return canonicalGuid(id);
}

// ---- feature gates ---------------------------------------------------------------------------

export function requireFeature(version: HnsVersion, feature: HnsFeature, what: string, ctx: Ctx, code: HresultName = 'HCN_E_REQUEST_UNSUPPORTED'): void {
  if (supports(version, feature)) return;
  fail(code, ctx, `(${what} needs HNS ${formatVersion(minimumVersion(feature))} or later, feature ${feature}; this host runs HNS ${formatVersion(version)})`);
}

const NETWORK_POLICY_FEATURES: Record<string, HnsFeature> = {
  remotesubnetroute: 'RemoteSubnet', hostroute: 'HostRoute', vxlanport: 'VxlanPort', setpolicy: 'SetPolicy',
  l4proxy: 'L4Proxy', networkacl: 'NetworkACL',
};
const ENDPOINT_POLICY_FEATURES: Record<string, HnsFeature> = {
  l4proxy: 'L4Proxy', l4wfpproxy: 'L4WfpProxy', tieracl: 'TierAcl',
};

function canonicalPolicyType(t: unknown, known: readonly string[], kind: string, ctx: Ctx): string {
  if (typeof t !== 'string' || t === '') fail('HCN_E_INVALID_POLICY_TYPE', ctx, `(${kind} policy without a Type)`);
  const found = known.find((k) => k.toLowerCase() === t.toLowerCase());
  if (!found) fail('HCN_E_INVALID_POLICY_TYPE', ctx, `(${kind} policy type "${t}" is not one HNS knows: ${known.join(', ')})`);
  return found;
}

function settings(p: { Settings?: unknown }): Record<string, unknown> {
  return p.Settings && typeof p.Settings === 'object' ? (p.Settings as Record<string, unknown>) : {};
}

function badPolicy(ctx: Ctx, type: string, detail: string): never {
  fail('HCN_E_INVALID_POLICY', ctx, `(${type}: ${detail})`);
}

/** Validates and canonicalizes the Type spelling of network policies. */
export function checkNetworkPolicies(policies: unknown, version: HnsVersion, ctx: Ctx): { Type: string; Settings?: Record<string, unknown> }[] {
  if (policies === undefined) return [];
  if (!Array.isArray(policies)) fail('E_INVALIDARG', ctx, '(Policies must be an array)');
  return policies.map((raw) => {
    const p = raw as { Type?: unknown; Settings?: unknown };
    const type = canonicalPolicyType(p?.Type, NETWORK_POLICY_TYPES, 'network', ctx);
    const feature = NETWORK_POLICY_FEATURES[type.toLowerCase()];
    if (feature) requireFeature(version, feature, `network policy ${type}`, ctx, 'HCN_E_INVALID_POLICY_TYPE');
    const s = settings(p);
    switch (type) {
      case 'RemoteSubnetRoute': {
        const c = parseCidr(getCI(s, 'DestinationPrefix'));
        if (!c || !prefixInRange(c) || hasHostBits(c)) badPolicy(ctx, type, `DestinationPrefix "${String(getCI(s, 'DestinationPrefix'))}" is not a network prefix`);
        if (!parseIp(getCI(s, 'ProviderAddress'))) badPolicy(ctx, type, `ProviderAddress "${String(getCI(s, 'ProviderAddress'))}" is not an IP address`);
        if (!isMac(getCI(s, 'DistributedRouterMacAddress'))) badPolicy(ctx, type, `DistributedRouterMacAddress "${String(getCI(s, 'DistributedRouterMacAddress'))}" is not a MAC address`);
        if (typeof getCI(s, 'IsolationId') !== 'number') badPolicy(ctx, type, 'IsolationId must be a number (the VSID)');
        break;
      }
      case 'HostRoute':
        if (Object.keys(s).length) badPolicy(ctx, type, 'Settings must be an empty object');
        break;
      case 'VxlanPort': {
        const port = getCI(s, 'Port');
        if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) badPolicy(ctx, type, 'Port must be a UDP port 1-65535');
        break;
      }
      case 'ProviderAddress':
        if (!parseIp(getCI(s, 'ProviderAddress'))) badPolicy(ctx, type, 'ProviderAddress must be an IP address');
        break;
      case 'DrMacAddress':
        if (!isMac(getCI(s, 'Address'))) badPolicy(ctx, type, 'Address must be a MAC address');
        break;
      case 'NetAdapterName':
        if (typeof getCI(s, 'NetworkAdapterName') !== 'string' || getCI(s, 'NetworkAdapterName') === '') badPolicy(ctx, type, 'NetworkAdapterName must name an adapter');
        break;
      case 'SetPolicy':
        if (String(getCI(s, 'PolicyType') ?? '').toUpperCase() === 'NESTEDIPSET') requireFeature(version, 'NestedIpSet', 'SetPolicy NESTEDIPSET', ctx, 'HCN_E_INVALID_POLICY_TYPE');
        break;
    }
    return p.Settings === undefined ? { Type: type } : { Type: type, Settings: p.Settings as Record<string, unknown> };
  });
}

export interface PortKey { protocol: number; port: number; vip: string }

/** Validates endpoint policies; returns them with canonical Type spelling plus the host ports they claim. */
export function checkEndpointPolicies(policies: unknown, version: HnsVersion, ctx: Ctx): { policies: { Type: string; Settings?: Record<string, unknown> }[]; ports: PortKey[] } {
  if (policies === undefined) return { policies: [], ports: [] };
  if (!Array.isArray(policies)) fail('E_INVALIDARG', ctx, '(Policies must be an array)');
  const ports: PortKey[] = [];
  const out = policies.map((raw) => {
    const p = raw as { Type?: unknown; Settings?: unknown };
    const type = canonicalPolicyType(p?.Type, ENDPOINT_POLICY_TYPES, 'endpoint', ctx);
    const feature = ENDPOINT_POLICY_FEATURES[type.toLowerCase()];
    if (feature) requireFeature(version, feature, `endpoint policy ${type}`, ctx, 'HCN_E_INVALID_POLICY_TYPE');
    const s = settings(p);
    switch (type) {
      case 'PortMapping': {
        const proto = getCI(s, 'Protocol');
        const internal = getCI(s, 'InternalPort');
        const external = getCI(s, 'ExternalPort');
        if (typeof proto !== 'number' || !Number.isInteger(proto) || proto < 0 || proto > 255) badPolicy(ctx, type, `Protocol must be a protocol number (6 TCP, 17 UDP), got ${JSON.stringify(proto)}`);
        if (!internal) fail('HCN_E_INVALID_INTERNAL_PORT', ctx, '(PortMapping InternalPort must be set)');
        if (!isPort(internal)) badPolicy(ctx, type, 'InternalPort must be 1-65535');
        if (external !== undefined && external !== 0 && !isPort(external)) badPolicy(ctx, type, 'ExternalPort must be 0-65535');
        const vip = String(getCI(s, 'VIP') ?? '');
        if (vip !== '' && !parseIp(vip)) badPolicy(ctx, type, `VIP "${vip}" is not an IP address`);
        if (typeof external === 'number' && external > 0) ports.push({ protocol: proto, port: external, vip: vip.toLowerCase() });
        break;
      }
      case 'ProviderAddress':
        if (!parseIp(getCI(s, 'ProviderAddress'))) badPolicy(ctx, type, 'ProviderAddress must be an IP address');
        break;
      case 'SDNRoute': {
        const c = parseCidr(getCI(s, 'DestinationPrefix'));
        if (!c || !prefixInRange(c)) badPolicy(ctx, type, `DestinationPrefix "${String(getCI(s, 'DestinationPrefix'))}" is not a prefix`);
        break;
      }
      case 'OutBoundNAT': {
        for (const key of ['Exceptions', 'Destinations']) {
          const v = getCI(s, key);
          if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) badPolicy(ctx, type, `${key} must be an array of strings`);
        }
        break;
      }
      case 'ACL': {
        const action = String(getCI(s, 'Action') ?? '');
        const dir = String(getCI(s, 'Direction') ?? '');
        // hcsshim's ActionType also has Pass (a TierAcl action); HNS's acceptance of it on ACL is not documented, so it passes.
        if (!['allow', 'block', 'pass'].includes(action.toLowerCase())) badPolicy(ctx, type, `Action must be Allow or Block, got "${action}"`);
        if (!['in', 'out'].includes(dir.toLowerCase())) badPolicy(ctx, type, `Direction must be In or Out, got "${dir}"`);
        break;
      }
    }
    return p.Settings === undefined ? { Type: type } : { Type: type, Settings: p.Settings as Record<string, unknown> };
  });
  // Two mappings of the same host port within one document collide too.
  const seen = new Set<string>();
  for (const k of ports) {
    const key = `${k.protocol}/${k.port}/${k.vip}`;
    if (seen.has(key)) fail('HCN_E_PORT_ALREADY_EXISTS', ctx, `(host port ${k.port}/${k.protocol}${k.vip ? ' on ' + k.vip : ''} is mapped twice)`);
    seen.add(key);
  }
  return { policies: out, ports };
}

function isPort(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

export function portsOf(policies: { Type?: unknown; Settings?: unknown }[] | undefined): PortKey[] {
  const out: PortKey[] = [];
  for (const p of policies ?? []) {
    if (!policyTypeIs(p, 'PortMapping')) continue;
    const s = settings(p);
    const ext = getCI(s, 'ExternalPort');
    const proto = getCI(s, 'Protocol');
    if (typeof ext === 'number' && ext > 0 && typeof proto === 'number') out.push({ protocol: proto, port: ext, vip: String(getCI(s, 'VIP') ?? '').toLowerCase() });
  }
  return out;
}

// ---- networks --------------------------------------------------------------------------------

export function checkNetworkType(t: unknown, ctx: Ctx): string {
  const canon = canonicalNetworkType(t);
  if (!(NETWORK_TYPES as readonly string[]).includes(canon)) {
    fail('HCN_E_INVALID_NETWORK_TYPE', ctx, `("${String(t)}"; HNS knows ${NETWORK_TYPES.join(', ')})`);
  }
  return canon;
}

export interface SubnetInfo {
  subnet: Subnet;
  cidr: Cidr;
  gateway?: Ip;
  /** Subnet Flags 1 = DoNotReserveGatewayAddress. */
  reserveGateway: boolean;
}

/** Parses a network's subnets; `strict` validates them (create / modify), otherwise trusts stored state. */
export function subnetsOf(net: HostComputeNetwork, ctx?: Ctx): SubnetInfo[] {
  const out: SubnetInfo[] = [];
  const ipams = net.Ipams ?? [];
  if (!Array.isArray(ipams)) fail('E_INVALIDARG', ctx!, '(Ipams must be an array)');
  for (const ipam of ipams) {
    for (const s of ipam.Subnets ?? []) {
      const prefix = s.IpAddressPrefix;
      if (prefix === undefined || prefix === '') continue;
      const c = parseCidr(prefix);
      if (!c) {
        if (ctx) fail('HCN_E_INVALID_SUBNET', ctx, `(IpAddressPrefix "${prefix}" is not a CIDR prefix such as 10.244.1.0/24)`);
        continue;
      }
      if (ctx && (!prefixInRange(c) || hasHostBits(c))) {
        fail('HCN_E_INVALID_PREFIX', ctx, `(IpAddressPrefix "${prefix}" ${prefixInRange(c) ? 'has host bits set' : 'has an out-of-range prefix length'})`);
      }
      let gateway: Ip | undefined;
      for (const r of s.Routes ?? []) {
        if (ctx && r.DestinationPrefix !== undefined && !parseCidr(r.DestinationPrefix)) {
          fail('HCN_E_INVALID_SUBNET', ctx, `(route DestinationPrefix "${r.DestinationPrefix}" in subnet ${prefix} is not a prefix)`);
        }
        if (r.NextHop === undefined || r.NextHop === '') continue;
        const hop = parseIp(r.NextHop);
        if (ctx && (!hop || !contains(c, hop))) {
          fail('HCN_E_INVALID_SUBNET', ctx, `(route NextHop "${r.NextHop}" is outside subnet ${prefix})`);
        }
        if (hop && !gateway) gateway = hop;
      }
      out.push({ subnet: s, cidr: c, gateway, reserveGateway: ((s.Flags ?? 0) & 1) === 0 });
    }
  }
  if (ctx) {
    for (let i = 0; i < out.length; i++) {
      for (let j = i + 1; j < out.length; j++) {
        const a = out[i].cidr;
        const b = out[j].cidr;
        if (contains(a, b.ip) || contains(b, a.ip)) {
          fail('HCN_E_INVALID_SUBNET', ctx, `(subnets ${out[i].subnet.IpAddressPrefix} and ${out[j].subnet.IpAddressPrefix} overlap)`);
        }
      }
    }
  }
  return out;
}
