/**
 * RemoteSubnetRoute (network, HNS ≥ 9.2): a peer node's pod prefix behind its provider address and DR MAC
 * (flannel's vxlan backend). IsolationId is the VSID; uint32 in HNS_Schema.
 */
import { hasHostBits, parseIp, prefixInRange, splitCidr } from '../../net/ip';
import { isMac } from '../../net/mac';
import { getCI } from '../../net/json';
import type { PolicyDescriptor } from './descriptor';
import { UINT32, at } from './checker';

export interface RemoteSubnetRouteSettings {
  DestinationPrefix: string;
  IsolationId: number;
  ProviderAddress: string;
  DistributedRouterMacAddress: string;
}

export const remoteSubnetRoute: PolicyDescriptor = {
  type: 'RemoteSubnetRoute',
  keys: ['DestinationPrefix', 'IsolationId', 'ProviderAddress', 'DistributedRouterMacAddress'],
  feature: 'RemoteSubnet',
  check: (c, p, s) => {
    c.cidr(at(p, 'DestinationPrefix'), s.DestinationPrefix);
    c.integer(at(p, 'IsolationId'), s.IsolationId, 0, UINT32);
    c.ip(at(p, 'ProviderAddress'), s.ProviderAddress);
    c.mac(at(p, 'DistributedRouterMacAddress'), s.DistributedRouterMacAddress);
  },
  hnsCheck: (s, refuse) => {
    const c = splitCidr(getCI(s, 'DestinationPrefix'));
    if (!c || !prefixInRange(c) || hasHostBits(c))
      refuse.invalid(`DestinationPrefix "${String(getCI(s, 'DestinationPrefix'))}" is not a network prefix`);
    if (!parseIp(getCI(s, 'ProviderAddress')))
      refuse.invalid(`ProviderAddress "${String(getCI(s, 'ProviderAddress'))}" is not an IP address`);
    if (!isMac(getCI(s, 'DistributedRouterMacAddress')))
      refuse.invalid(`DistributedRouterMacAddress "${String(getCI(s, 'DistributedRouterMacAddress'))}" is not a MAC address`);
    if (typeof getCI(s, 'IsolationId') !== 'number') refuse.invalid('IsolationId must be a number (the VSID)');
  },
  example: {
    DestinationPrefix: '10.244.2.0/24',
    IsolationId: 4096,
    ProviderAddress: '192.168.0.11',
    DistributedRouterMacAddress: '00-15-5D-BB-6E-C2',
  },
};
