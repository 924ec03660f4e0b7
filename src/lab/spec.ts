/**
 * A declarative lab: N nodes on one underlay, each with a pod subnet carved from the cluster CIDR, and
 * the HCN documents each node's data plane receives (the network and its peers' RemoteSubnetRoutes), so the
 * same spec drives a netns lab on Linux and, later, Hyper-V. Pure: no I/O.
 */
import { formatIp, parseCidr } from '../net/ip';
import type { HostComputeNetwork, NetworkPolicy } from '../hns';
import type { HyperVLabSpec } from './hyperv-plan';

export type LabNetworkType = 'L2Bridge' | 'Overlay';

export interface LabSpec {
  /** Prefix of every namespace and file the lab creates (make it unique per run). */
  prefix: string;
  nodes: number;
  podsPerNode: number;
  type: LabNetworkType;
  /** /24 the node underlay addresses come from. */
  underlay?: string;
  /** /16 the per-node /24 pod subnets come from. */
  clusterCidr?: string;
  vni?: number;
  /** Underlay MTU (node uplinks). */
  mtu?: number;
  /** The Hyper-V driver's part (VMs, switches, disks); the netns lab ignores it. */
  hyperv?: HyperVLabSpec;
}

export interface LabPod {
  name: string;
  ip: string;
  node: number;
}
export interface LabNode {
  name: string;
  index: number;
  underlayIp: string;
  podSubnet: string;
  gateway: string;
  pods: LabPod[];
}
export interface LabPlan {
  spec: Required<LabSpec>;
  switchNs: string;
  nodes: LabNode[];
}

export class LabSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabSpecError';
  }
}

function octets(cidr: string, field: string, prefixLen: number): number[] {
  const net = parseCidr(cidr);
  if (!net || net.ip.v !== 4 || net.prefix !== prefixLen) throw new LabSpecError(`${field}: "${cidr}" must be an IPv4 /${prefixLen}`);
  return formatIp(net.ip).split('.').map(Number);
}

export function planLab(input: LabSpec): LabPlan {
  const spec = { underlay: '192.168.77.0/24', clusterCidr: '10.244.0.0/16', vni: 4096, mtu: 1500, ...input } as Required<LabSpec>;
  if (!/^[a-z0-9][a-z0-9-]{0,11}$/.test(spec.prefix))
    throw new LabSpecError(`prefix: "${spec.prefix}" must be 1-12 lowercase letters, digits or dashes`);
  if (!Number.isInteger(spec.nodes) || spec.nodes < 1 || spec.nodes > 50) throw new LabSpecError(`nodes: ${spec.nodes} must be 1-50`);
  if (!Number.isInteger(spec.podsPerNode) || spec.podsPerNode < 0 || spec.podsPerNode > 200)
    throw new LabSpecError(`podsPerNode: ${spec.podsPerNode} must be 0-200`);
  if (spec.type !== 'L2Bridge' && spec.type !== 'Overlay')
    throw new LabSpecError(`type: "${String(spec.type)}" must be L2Bridge or Overlay`);
  const u = octets(spec.underlay, 'underlay', 24);
  const c = octets(spec.clusterCidr, 'clusterCidr', 16);
  const nodes: LabNode[] = [];
  for (let i = 0; i < spec.nodes; i++) {
    const sub = `${c[0]}.${c[1]}.${i + 1}`;
    const name = `${spec.prefix}-n${i}`;
    nodes.push({
      name,
      index: i,
      underlayIp: `${u[0]}.${u[1]}.${u[2]}.${10 + i}`,
      podSubnet: `${sub}.0/24`,
      gateway: `${sub}.1`,
      pods: Array.from({ length: spec.podsPerNode }, (_, j) => ({ name: `${name}-p${j}`, ip: `${sub}.${10 + j}`, node: i })),
    });
  }
  return { spec, switchNs: `${spec.prefix}-sw`, nodes };
}

/** The network document a node's data plane gets (what flannel/the agent would create). */
export function nodeNetwork(plan: LabPlan, node: LabNode, uplink = 'eth0'): HostComputeNetwork {
  const policies: NetworkPolicy[] = [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: uplink } }];
  if (plan.spec.type === 'Overlay') {
    policies.push({ Type: 'ProviderAddress', Settings: { ProviderAddress: node.underlayIp } });
    policies.push({ Type: 'VxlanPort', Settings: { Port: 4789 } });
  }
  return {
    Name: `${plan.spec.prefix}-${plan.spec.type.toLowerCase()}`,
    Type: plan.spec.type,
    Policies: policies,
    Ipams: [
      {
        Type: 'Static',
        Subnets: [
          {
            IpAddressPrefix: node.podSubnet,
            Routes: [{ NextHop: node.gateway, DestinationPrefix: '0.0.0.0/0' }],
            ...(plan.spec.type === 'Overlay' ? { Policies: [{ Type: 'VSID' as const, Settings: { IsolationId: plan.spec.vni } }] } : {}),
          },
        ],
      },
    ],
  };
}

/** The RemoteSubnetRoute a node receives for a peer (drMac: the peer's DrMacAddress, Overlay only). */
export function peerRoute(plan: LabPlan, peer: LabNode, drMac?: string): NetworkPolicy {
  return {
    Type: 'RemoteSubnetRoute',
    Settings: {
      DestinationPrefix: peer.podSubnet,
      IsolationId: plan.spec.vni,
      ProviderAddress: peer.underlayIp,
      DistributedRouterMacAddress: drMac ?? '',
    },
  };
}
