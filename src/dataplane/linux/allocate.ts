/**
 * Address allocation for endpoints created without an address: the lowest free address of the network's
 * subnet from .2 on (the gateway and addresses of other endpoints excluded), and the checks a requested
 * address must pass.
 */
import { EndpointFlags, HnsError, type HostComputeEndpoint } from '../../hns';
import { isIPv4, parseV4Prefix } from './addr';
import { contains, formatIp, lastOf, parseIp } from '../../net/ip';
import { macFromIpv4, toHnsMac } from '../../net/mac';
import { BadNetworkError } from './realize-network';
import type { EndpointRecord, NetworkRecord } from './state';

/** Fills in (or checks) the endpoint's first IPv4 configuration and its MAC, as HNS does on create. */
export function assignAddress(net: NetworkRecord, peers: EndpointRecord[], stored: HostComputeEndpoint, id: string): void {
  const remote = ((stored.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0;
  const ipc = stored.IpConfigurations?.[0];
  if (ipc?.IpAddress) {
    if (!isIPv4(ipc.IpAddress)) throw new BadNetworkError(`IpConfigurations[0].IpAddress: "${ipc.IpAddress}" is not an IPv4 address`);
    if (!remote && net.subnet && !contains(parseV4Prefix(net.subnet, 'subnet'), parseIp(ipc.IpAddress)!)) {
      throw HnsError.of(
        'HCN_E_INVALID_IP',
        { call: 'HcnCreateEndpoint', subject: `endpoint ${id}` },
        `IpConfigurations[0].IpAddress ${ipc.IpAddress} is outside the network's subnet ${net.subnet}`,
      );
    }
    if (peers.some((e) => e.doc.IpConfigurations?.[0]?.IpAddress === ipc.IpAddress)) {
      throw HnsError.of(
        'HCN_E_ADDR_INVALID_OR_RESERVED',
        { call: 'HcnCreateEndpoint', subject: `endpoint ${id}` },
        `IpConfigurations[0].IpAddress ${ipc.IpAddress} is already used by another endpoint`,
      );
    }
  } else if (net.subnet && !remote) {
    stored.IpConfigurations = [{ IpAddress: allocate(net, peers), PrefixLength: Number(net.subnet.split('/')[1]) }];
  }
  const ip = stored.IpConfigurations?.[0]?.IpAddress;
  if (ip && stored.IpConfigurations![0].PrefixLength === undefined && net.subnet)
    stored.IpConfigurations![0].PrefixLength = Number(net.subnet.split('/')[1]);
  // HNS reports the default route through the subnet's gateway on an endpoint that brings no routes (docs/windows.md).
  if (!remote && ip && !stored.Routes && net.gateway) stored.Routes = [{ NextHop: net.gateway, DestinationPrefix: '0.0.0.0/0' }];
  if (!stored.MacAddress && ip) stored.MacAddress = toHnsMac(macFromIpv4('0E-2A', ip)!);
}

function allocate(net: NetworkRecord, peers: EndpointRecord[]): string {
  const c = parseV4Prefix(net.subnet!, 'subnet');
  const used = new Set(peers.map((e) => e.doc.IpConfigurations?.[0]?.IpAddress).filter(Boolean) as string[]);
  if (net.gateway) used.add(net.gateway);
  // From .2 up to the address before the broadcast address.
  for (let n = c.ip.n + 2n; n < lastOf(c).n; n++) {
    const ip = formatIp({ v: 4, n });
    if (!used.has(ip)) return ip;
  }
  throw HnsError.of(
    'HCN_E_ADDR_INVALID_OR_RESERVED',
    { call: 'HcnCreateEndpoint', subject: `network ${net.doc.ID}` },
    `no free address left in ${net.subnet}`,
  );
}
