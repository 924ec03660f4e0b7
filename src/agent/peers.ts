/**
 * Which peers this node programs, and the network policy that programs each one. A peer whose backend type
 * or VNI differs from this node's is refused as a whole (never half-programmed: a route without the matching
 * encapsulation is a black hole); a vxlan peer that has not published its VtepMAC yet is left pending, as
 * flannel skips a lease with an empty DR MAC.
 *
 * host-gw peers are RemoteSubnetRoute policies too: DestinationPrefix via ProviderAddress (the peer's node
 * address) with no encapsulation (IsolationId 0, no distributed-router MAC, written as the all-zero MAC). The
 * linux data plane realizes that as `ip route <prefix> via <peer>`; see docs/agent.md for Windows.
 */
import type { NetworkPolicy } from '../hns/policy';
import type { ClusterNetConf, NodeLease } from './subnet/types';
import { toKernelMac } from '../net/mac';

export const NO_DR_MAC = '00:00:00:00:00:00';

export interface PeerDecision {
  lease: NodeLease;
  state: 'programmed' | 'refused' | 'pending';
  reason?: string;
  policy?: NetworkPolicy;
}

function toInt(ip: string): number {
  return ip.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
}

function range(cidr: string): [number, number] | undefined {
  const [ip, len] = cidr.split('/');
  const n = Number(len);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip ?? '') || !Number.isInteger(n) || n < 0 || n > 32) return undefined;
  const size = 2 ** (32 - n);
  const start = Math.floor(toInt(ip) / size) * size;
  return [start, start + size - 1];
}

const overlaps = (a: [number, number], b: [number, number]) => a[0] <= b[1] && b[0] <= a[1];

export function decidePeers(net: ClusterNetConf, self: NodeLease, peers: NodeLease[]): PeerDecision[] {
  const own = range(self.subnet);
  const cluster = range(net.network);
  const out: PeerDecision[] = [];
  const sorted = [...peers].sort((a, b) => a.node.localeCompare(b.node));
  const taken: { node: string; r: [number, number] }[] = [];
  for (const lease of sorted) {
    const refuse = (reason: string) => out.push({ lease, state: 'refused', reason });
    const r = range(lease.subnet);
    if (!r) {
      refuse(`subnet "${lease.subnet}" is not an IPv4 CIDR`);
      continue;
    }
    if (cluster && !(r[0] >= cluster[0] && r[1] <= cluster[1])) {
      refuse(`subnet ${lease.subnet} is outside the cluster Network ${net.network}`);
      continue;
    }
    if (own && overlaps(r, own)) {
      refuse(`subnet ${lease.subnet} overlaps this node's ${self.subnet}`);
      continue;
    }
    const clash = taken.find((t) => overlaps(t.r, r));
    if (clash) {
      refuse(`subnet ${lease.subnet} overlaps node ${clash.node}'s`);
      continue;
    }
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(lease.publicIp ?? '')) {
      refuse(`public IP "${lease.publicIp ?? ''}" is not an IPv4 address`);
      continue;
    }
    if (lease.backendType !== net.backend.type) {
      refuse(`backend type ${lease.backendType || '(none)'} differs from this node's ${net.backend.type}`);
      continue;
    }
    if (net.backend.type === 'vxlan') {
      if (lease.vni !== net.backend.vni) {
        refuse(`VNI ${lease.vni ?? '(none)'} differs from this node's ${net.backend.vni}`);
        continue;
      }
      if (!lease.vtepMac) {
        out.push({ lease, state: 'pending', reason: 'no VtepMAC published yet' });
        continue;
      }
    }
    taken.push({ node: lease.node, r });
    out.push({
      lease,
      state: 'programmed',
      policy: {
        Type: 'RemoteSubnetRoute',
        Settings: {
          DestinationPrefix: lease.subnet,
          IsolationId: net.backend.type === 'vxlan' ? net.backend.vni : 0,
          ProviderAddress: lease.publicIp,
          DistributedRouterMacAddress: net.backend.type === 'vxlan' ? toKernelMac(lease.vtepMac!) : NO_DR_MAC,
        },
      },
    });
  }
  return out;
}
