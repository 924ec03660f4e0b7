/**
 * ConstructHnsResult / ConstructHcnResult: the result is built from the endpoint HNS/HCN returned (not
 * from IPAM): one interface (endpoint name, HNS MAC, no sandbox), one IP (endpoint address with the
 * network's first subnet prefix, the endpoint gateway, no interface index), no routes, DNS from the
 * endpoint. Deliberate fix: where the reference would panic on a network without subnet, this errors.
 */
import type { HostComputeEndpoint, HostComputeNetwork, HnsV1Endpoint, HnsV1Network } from '../../../hns';
import type { CniDNS, CniResult } from '../../protocol/result';
import { parseCIDR, parseIP } from '../../ipam/ip';
import { v2SubnetPrefix } from './hns';

function prefixLen(prefix: string | undefined, network: string): number {
  const c = prefix ? parseCIDR(prefix) : undefined;
  if (!c) throw new Error(`network ${network} has no usable subnet (AddressPrefix ${JSON.stringify(prefix ?? '')})`);
  return c.prefix;
}

const splitList = (s: string | undefined): string[] => (s ? s.split(',').filter((x) => x !== '') : []);

export function hnsResult(net: HnsV1Network, ep: HnsV1Endpoint): CniResult {
  const prefix = prefixLen(net.Subnets?.[0]?.AddressPrefix, net.Name ?? '');
  if (!ep.IPAddress || !parseIP(ep.IPAddress)) throw new Error(`HNSEndpoint ${ep.Name} has no IP address`);
  const ip: CniResult['ips'] = [{ address: `${ep.IPAddress}/${prefix}` }];
  if (ep.GatewayAddress && parseIP(ep.GatewayAddress)) ip[0].gateway = ep.GatewayAddress;
  const dns: CniDNS = {};
  const ns = splitList(ep.DNSServerList);
  const search = splitList(ep.DNSSuffix);
  if (ns.length) dns.nameservers = ns;
  if (search.length) dns.search = search;
  const iface: { name: string; mac?: string } = { name: ep.Name ?? '' };
  if (ep.MacAddress) iface.mac = ep.MacAddress;
  return { cniVersion: '1.1.0', interfaces: [iface], ips: ip, dns };
}

export function hcnResult(net: HostComputeNetwork, ep: HostComputeEndpoint): CniResult {
  const prefix = prefixLen(v2SubnetPrefix(net), net.Name ?? '');
  const addr = ep.IpConfigurations?.[0]?.IpAddress;
  if (!addr || !parseIP(addr)) throw new Error(`HostComputeEndpoint ${ep.Name} has no IP address`);
  const ip: CniResult['ips'] = [{ address: `${addr}/${prefix}` }];
  const gw = ep.Routes?.[0]?.NextHop;
  if (gw && parseIP(gw)) ip[0].gateway = gw;
  const dns: CniDNS = {};
  if (ep.Dns?.ServerList?.length) dns.nameservers = ep.Dns.ServerList;
  if (ep.Dns?.Domain) dns.domain = ep.Dns.Domain;
  if (ep.Dns?.Search?.length) dns.search = ep.Dns.Search;
  if (ep.Dns?.Options?.length) dns.options = ep.Dns.Options;
  const iface: { name: string; mac?: string } = { name: ep.Name ?? '' };
  if (ep.MacAddress) iface.mac = ep.MacAddress;
  return { cniVersion: '1.1.0', interfaces: [iface], ips: ip, dns };
}
