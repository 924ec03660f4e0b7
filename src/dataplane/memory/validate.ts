/**
 * The checks HNS applies to documents before it creates or changes anything, with the HRESULT it
 * returns for each. Pure functions over the current state; they throw HnsError and never mutate.
 */
import {
  HRESULT,
  HRESULT_MESSAGES,
  HnsError,
  NETWORK_TYPES,
  canonicalNetworkType,
  formatVersion,
  minimumVersion,
  supports,
  type HnsFeature,
  type HnsVersion,
  type HresultName,
  type HostComputeNetwork,
  type Subnet,
} from '../../hns';
import { isGuid, normalizeGuid as canonicalGuid } from '../../net/id';
import { contains, hasHostBits, parseIp, prefixInRange, splitCidr as parseCidr, type IP as Ip, type IPNet as Cidr } from '../../net';

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

export function requireFeature(
  version: HnsVersion,
  feature: HnsFeature,
  what: string,
  ctx: Ctx,
  code: HresultName = 'HCN_E_REQUEST_UNSUPPORTED',
): void {
  if (supports(version, feature)) return;
  fail(
    code,
    ctx,
    `(${what} needs HNS ${formatVersion(minimumVersion(feature))} or later, feature ${feature}; this host runs HNS ${formatVersion(version)})`,
  );
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
        fail(
          'HCN_E_INVALID_PREFIX',
          ctx,
          `(IpAddressPrefix "${prefix}" ${prefixInRange(c) ? 'has host bits set' : 'has an out-of-range prefix length'})`,
        );
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
