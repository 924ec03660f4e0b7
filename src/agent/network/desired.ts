/**
 * What this node's data plane should hold, as HCN documents (pure): the cluster network (flannel's names and
 * shapes: L2Bridge `cbr0` for host-gw, Overlay `flannel.<VNI>` for vxlan, non-persistent as flannel makes it),
 * the host endpoint at the subnet's .2 attached to the host, the overlay source-VIP endpoint, and one
 * RemoteSubnetRoute per programmed peer.
 */
import type { HostComputeEndpoint } from '../../hns/endpoint';
import type { HostComputeNetwork } from '../../hns/network';
import type { NetworkPolicy } from '../../hns/policy';
import type { DesiredState } from '../../reconcile';
import type { ClusterNetConf, NodeLease } from '../subnet/types';

export const PLACEHOLDER_NETWORK = 'External';
export const SOURCE_VIP_ENDPOINT = 'source_vip';

export function networkName(net: ClusterNetConf): string {
  return net.backend.name ?? (net.backend.type === 'host-gw' ? 'cbr0' : `flannel.${net.backend.vni}`);
}

export const hostEndpointName = (net: ClusterNetConf) => `${networkName(net)}_ep`;

function toInt(ip: string): number {
  return ip.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
}
const toIp = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

/** The n-th address of a subnet (1 = the gateway, 2 = the host endpoint win-bridge hands pods). */
export function nthHost(cidr: string, n: number): string {
  const [ip, len] = cidr.split('/');
  const size = 2 ** (32 - Number(len));
  return toIp(Math.floor(toInt(ip) / size) * size + n);
}

export interface NodeNetworkInput {
  net: ClusterNetConf;
  lease: NodeLease;
  /** NetAdapterName (flannel binds the network to the external interface). */
  iface?: string;
  /** Sent as the ProviderAddress policy where the data plane needs it (platform.sendsProviderAddress). */
  providerAddress?: string;
}

export function nodeNetwork(inp: NodeNetworkInput): HostComputeNetwork {
  const { net, lease } = inp;
  const overlay = net.backend.type === 'vxlan';
  const policies: NetworkPolicy[] = [];
  if (inp.iface) policies.push({ Type: 'NetAdapterName', Settings: { NetworkAdapterName: inp.iface } });
  if (overlay && inp.providerAddress) policies.push({ Type: 'ProviderAddress', Settings: { ProviderAddress: inp.providerAddress } });
  if (overlay && net.backend.port !== 4789) policies.push({ Type: 'VxlanPort', Settings: { Port: net.backend.port } });
  return {
    Name: networkName(net),
    Type: overlay ? 'Overlay' : 'L2Bridge',
    ...(overlay ? { Flags: 8 } : {}),
    Ipams: [
      {
        Type: 'Static',
        Subnets: [
          {
            IpAddressPrefix: lease.subnet,
            Routes: [{ NextHop: nthHost(lease.subnet, 1), DestinationPrefix: '0.0.0.0/0' }],
            ...(overlay ? { Policies: [{ Type: 'VSID' as const, Settings: { IsolationId: net.backend.vni } }] } : {}),
          },
        ],
      },
    ],
    ...(policies.length ? { Policies: policies } : {}),
  };
}

/** flannel's scripts' throw-away network: created once so the vSwitch exists before the real network. */
export function placeholderNetwork(net: ClusterNetConf, iface?: string): HostComputeNetwork {
  const overlay = net.backend.type === 'vxlan';
  return {
    Name: PLACEHOLDER_NETWORK,
    Type: overlay ? 'Overlay' : 'L2Bridge',
    Ipams: [
      {
        Type: 'Static',
        Subnets: [
          {
            IpAddressPrefix: '192.168.255.0/30',
            Routes: [{ NextHop: '192.168.255.1', DestinationPrefix: '0.0.0.0/0' }],
            ...(overlay ? { Policies: [{ Type: 'VSID' as const, Settings: { IsolationId: 9999 } }] } : {}),
          },
        ],
      },
    ],
    ...(iface ? { Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: iface } }] } : {}),
  };
}

export interface DesiredInput extends NodeNetworkInput {
  /** The host endpoint's address (subnet .2), when the data plane realizes host endpoints. */
  hostEndpointIp?: string;
  /** The overlay source VIP, reserved in IPAM. */
  sourceVip?: string;
  peerPolicies: NetworkPolicy[];
}

export function desiredState(inp: DesiredInput): DesiredState {
  const net = nodeNetwork(inp);
  net.Policies = [...(net.Policies ?? []), ...inp.peerPolicies];
  const name = net.Name!;
  const endpoints: DesiredState['endpoints'] = [];
  if (inp.hostEndpointIp) {
    const ep: HostComputeEndpoint = {
      Name: hostEndpointName(inp.net),
      HostComputeNetwork: name,
      IpConfigurations: [{ IpAddress: inp.hostEndpointIp }],
    };
    endpoints.push({ doc: ep, attachTo: { hostDefault: true }, replaceOnDrift: true });
  }
  if (inp.sourceVip) {
    endpoints.push({
      doc: { Name: SOURCE_VIP_ENDPOINT, HostComputeNetwork: name, IpConfigurations: [{ IpAddress: inp.sourceVip }] },
      replaceOnDrift: true,
    });
  }
  return { networks: [{ doc: net, ownedPolicyTypes: ['RemoteSubnetRoute'] }], endpoints };
}
