/**
 * What the linux data plane refuses because it cannot realize it (capabilities.ts says the same in
 * advance): a document is realized fully or refused naming the field, never stored and ignored.
 */
import {
  HRESULT,
  HnsError,
  getCI,
  policyTypeIs,
  type HostComputeLoadBalancer,
  type EndpointPolicy,
  type HostComputeEndpoint,
  type HostComputeNetwork,
  type NetworkPolicy,
} from '../../hns';
import { LINUX_CAPABILITIES } from './capabilities';
import { isIPv4, parseV4Prefix } from './addr';
import { contains } from '../../net/ip';
import { BadNetworkError } from './realize-network';
import { key, type LinuxState, type NetworkRecord } from './state';

function realizedTypes(policies: readonly { Type: unknown }[] | undefined, allowed: readonly string[], field: string): void {
  (policies ?? []).forEach((p, i) => {
    if (!allowed.some((t) => policyTypeIs(p, t))) {
      throw new BadNetworkError(
        `${field}[${i}].Type: "${String(p.Type)}" is not realized by the linux data plane (it realizes ${allowed.join(', ')})`,
      );
    }
  });
}

export function checkNetworkPolicies(policies: readonly NetworkPolicy[] | undefined, field = 'Policies'): void {
  realizedTypes(policies, LINUX_CAPABILITIES.policies.network, field);
}

/** One IPv4 subnet per network: more subnets, or IPv6 ones, would be stored and not configured. */
export function checkNetworkSubnets(doc: HostComputeNetwork): void {
  (doc.Ipams ?? []).forEach((ipam, i) =>
    (ipam.Subnets ?? []).forEach((sub, j) => {
      if (i === 0 && j === 0) return;
      const what = sub.IpAddressPrefix && !isIPv4(sub.IpAddressPrefix.split('/')[0]) ? 'an IPv6 subnet' : 'a second subnet';
      throw new BadNetworkError(`Ipams[${i}].Subnets[${j}]: ${what} is not realized by the linux data plane (one IPv4 subnet per network)`);
    }),
  );
}

export function checkEndpointPolicies(net: NetworkRecord, policies: readonly EndpointPolicy[] | undefined, field = 'Policies'): void {
  realizedTypes(policies, LINUX_CAPABILITIES.policies.endpoint, field);
  if (net.type === 'Transparent') {
    const i = (policies ?? []).findIndex((p) => policyTypeIs(p, 'ACL'));
    if (i >= 0) {
      throw new BadNetworkError(
        `${field}[${i}]: an ACL on an endpoint of Transparent network ${net.doc.Name ?? net.doc.ID} is not realized by the linux data plane (its macvlan bypasses the node's filter); use an L2Bridge network`,
      );
    }
  }
}

/** One IPv4 address per endpoint: an IPv6 or a second address would be stored and not configured. */
export function checkEndpointAddresses(doc: HostComputeEndpoint): void {
  (doc.IpConfigurations ?? []).forEach((c, i) => {
    if (c.IpAddress && !isIPv4(c.IpAddress)) {
      throw new BadNetworkError(
        `IpConfigurations[${i}].IpAddress: "${c.IpAddress}" is not an IPv4 address; the linux data plane realizes IPv4 only (capabilities.addressFamilies)`,
      );
    }
    if (i > 0) throw new BadNetworkError(`IpConfigurations[${i}]: the linux data plane realizes one IPv4 address per endpoint`);
  });
}

/** HNS-class refusal of a subnet that overlaps another network's, naming that network. */
export function checkSubnetOverlap(s: LinuxState, rec: NetworkRecord): void {
  if (!rec.subnet) return;
  const mine = parseV4Prefix(rec.subnet, 'Ipams[0].Subnets[0].IpAddressPrefix');
  for (const other of Object.values(s.networks)) {
    if (!other.subnet || key(other.doc.ID ?? '') === key(rec.doc.ID ?? '')) continue;
    const theirs = parseV4Prefix(other.subnet, 'subnet');
    if (contains(mine, theirs.ip) || contains(theirs, mine.ip)) {
      throw HnsError.of(
        'HCN_E_INVALID_SUBNET',
        { call: 'HcnCreateNetwork', subject: `network ${rec.doc.Name ?? rec.doc.ID}` },
        `Ipams[0].Subnets[0].IpAddressPrefix ${rec.subnet} overlaps subnet ${other.subnet} of network ${other.doc.Name ?? ''} (${other.doc.ID})`,
      );
    }
  }
}

/** HNS-class refusal of a VNI (on the same UDP port) another Overlay network of this node already uses. */
export function checkVniClash(s: LinuxState, rec: NetworkRecord): void {
  if (rec.type !== 'Overlay') return;
  const other = Object.values(s.networks).find(
    (n) => n.type === 'Overlay' && n.vni === rec.vni && n.port === rec.port && key(n.doc.ID ?? '') !== key(rec.doc.ID ?? ''),
  );
  if (other) {
    throw HnsError.of(
      'ERROR_ALREADY_EXISTS',
      { call: 'HcnCreateNetwork', subject: `network ${rec.doc.Name ?? rec.doc.ID}` },
      `VSID ${rec.vni} (VNI on UDP port ${rec.port}) is already used by network ${other.doc.Name ?? ''} (${other.doc.ID})`,
    );
  }
}

/** An IPv6 load balancer (Flags IPv6) would be stored and never reach the IPv4-only nftables maps. */
export function checkLoadBalancerRealizable(doc: HostComputeLoadBalancer, call: string, subject: string): void {
  if ((doc.Flags ?? 0) & 2) {
    throw new HnsError(
      HRESULT.HCN_E_REQUEST_UNSUPPORTED,
      'Flags: IPv6 (2) is not realized by the linux data plane (capabilities.policies.loadBalancer; IPv4 only)',
      { call, subject },
      'unsupported',
    );
  }
}

/** HNS refuses a second mapping of one host port (protocol, VIP) on the host: HCN_E_PORT_ALREADY_EXISTS. */
export function checkHostPorts(s: LinuxState, doc: HostComputeEndpoint, call: string, subject: string): void {
  const ports = (e: HostComputeEndpoint) =>
    (e.Policies ?? [])
      .filter((p) => policyTypeIs(p, 'PortMapping'))
      .map((p) => ({
        port: Number(getCI(p.Settings, 'ExternalPort') ?? 0),
        proto: Number(getCI(p.Settings, 'Protocol') ?? 6),
        vip: String(getCI(p.Settings, 'VIP') ?? '').toLowerCase(),
      }))
      .filter((m) => m.port > 0);
  const mine = ports(doc);
  if (!mine.length) return;
  for (const other of Object.values(s.endpoints)) {
    for (const t of ports(other.doc)) {
      const m = mine.find((x) => x.port === t.port && x.proto === t.proto && x.vip === t.vip);
      if (m) {
        throw HnsError.of(
          'HCN_E_PORT_ALREADY_EXISTS',
          { call, subject },
          `host port ${m.port}/${m.proto}${m.vip ? ' on ' + m.vip : ''} is already mapped by endpoint ${other.doc.Name ?? other.doc.ID}`,
        );
      }
    }
  }
}
