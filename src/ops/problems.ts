/**
 * Problem finders: each looks at the data plane snapshot (and the agent's status when one answered) and
 * reports what is wrong with a one-line hint saying what to check or do. `error` makes `switchyard status`
 * exit non-zero; `warning` is printed but does not.
 */
import { cidrContains, networkOf, parseCidr, sameIp } from '../net/ip';
import type { AgentStatus } from '../agent/agent';
import { sameId } from '../hns/json';
import { findPolicies } from '../hns/policy';
import { endpointIps, nameOf, remoteSubnetsOf, subnetsOf, vniOf, providerAddressOf, type DataplaneSnapshot } from './snapshot';

export interface Problem {
  severity: 'error' | 'warning';
  /** What is wrong, naming the object. */
  message: string;
  /** One line: what to check or do. */
  hint: string;
}

type Finder = (snap: DataplaneSnapshot, agent?: AgentStatus) => Problem[];

function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y || x.ip.v !== y.ip.v) return false;
  const p = Math.min(x.prefix, y.prefix);
  return sameIp(networkOf(x.ip, p), networkOf(y.ip, p));
}

function contains(prefix: string, ip: string): boolean {
  return cidrContains(prefix, ip.split('/')[0]);
}

/** A peer route whose VNI is not the network's: VXLAN packets are dropped by the receiver. */
const vniMismatch: Finder = (snap) =>
  snap.networks.flatMap((n) => {
    const own = vniOf(n);
    if (own === undefined) return [];
    return remoteSubnetsOf(n)
      .filter((r) => r.vni !== 0 && r.vni !== own)
      .map((r) => ({
        severity: 'error' as const,
        message: `peer ${r.providerAddress} (${r.prefix}) has VNI ${r.vni}, this node ${own}`,
        hint: `peer ${r.providerAddress} has VNI ${r.vni}, this node ${own}: give every node the same backend VNI in net-conf.json`,
      }));
  });

const peerOverlaps: Finder = (snap) =>
  snap.networks.flatMap((n) => {
    const own = subnetsOf(n).map((s) => s.IpAddressPrefix ?? '');
    const routes = remoteSubnetsOf(n);
    const out: Problem[] = [];
    routes.forEach((r, i) => {
      const mine = own.find((o) => overlaps(o, r.prefix));
      if (mine)
        out.push({
          severity: 'error',
          message: `network ${n.Name}: peer route ${r.prefix} via ${r.providerAddress} overlaps this node's subnet ${mine}`,
          hint: `two nodes hold overlapping pod subnets: check the node's podCIDR (kubectl get node -o jsonpath='{.spec.podCIDR}')`,
        });
      const other = routes.slice(0, i).find((o) => overlaps(o.prefix, r.prefix));
      if (other)
        out.push({
          severity: 'error',
          message: `network ${n.Name}: peer routes ${other.prefix} (${other.providerAddress}) and ${r.prefix} (${r.providerAddress}) overlap`,
          hint: 'one peer route shadows the other: remove the stale one (switchyard network policy remove)',
        });
    });
    return out;
  });

const overlayWithoutProvider: Finder = (snap) =>
  snap.networks
    .filter((n) => n.Type === 'Overlay' && !providerAddressOf(n) && !findPolicies(n.Policies, 'NetAdapterName').length)
    .map((n) => ({
      severity: 'error' as const,
      message: `Overlay network ${n.Name} has no ProviderAddress`,
      hint: 'the VTEP has no address and no adapter to take it from: bind the network to the uplink (--adapter) or add a ProviderAddress policy',
    }));

const orphanEndpoints: Finder = (snap) =>
  snap.endpoints
    .filter((e) => e.HostComputeNetwork && !snap.networks.some((n) => sameId(n.ID, e.HostComputeNetwork)))
    .map((e) => ({
      severity: 'warning' as const,
      message: `endpoint ${e.Name ?? e.ID} belongs to network ${e.HostComputeNetwork}, which does not exist`,
      hint: `a leftover of a deleted network: delete it (switchyard endpoint delete ${e.Name ?? e.ID})`,
    }));

const endpointOutsideSubnet: Finder = (snap) =>
  snap.endpoints.flatMap((e) => {
    const n = snap.networks.find((x) => sameId(x.ID, e.HostComputeNetwork));
    if (!n) return [];
    const prefixes = subnetsOf(n)
      .map((s) => s.IpAddressPrefix ?? '')
      .filter(Boolean);
    if (!prefixes.length) return [];
    return endpointIps(e)
      .filter((ip) => !prefixes.some((p) => contains(p, ip)))
      .map((ip) => ({
        severity: 'warning' as const,
        message: `endpoint ${e.Name ?? e.ID} has ${ip}, outside network ${n.Name}'s ${prefixes.join(', ')}`,
        hint: 'its address is not routed on this network: the pod was set up for an older subnet; recreate it',
      }));
  });

const duplicateIps: Finder = (snap) => {
  const seen = new Map<string, string>();
  const out: Problem[] = [];
  for (const e of snap.endpoints)
    for (const ip of endpointIps(e)) {
      const bare = ip.split('/')[0];
      const first = seen.get(bare);
      const me = e.Name ?? e.ID ?? '?';
      if (first && first !== me)
        out.push({
          severity: 'error',
          message: `endpoints ${first} and ${me} both have ${bare}`,
          hint: 'two ports answer for one address: delete the stale endpoint (check IPAM leases in the CNI data dir)',
        });
      else seen.set(bare, me);
    }
  return out;
};

const staleLbBackends: Finder = (snap) =>
  snap.loadBalancers.flatMap((lb) =>
    (lb.HostComputeEndpoints ?? [])
      .filter((id) => !snap.endpoints.some((e) => sameId(e.ID, id)))
      .map((id) => ({
        severity: 'warning' as const,
        message: `load balancer ${lb.Name ?? lb.ID} (${(lb.FrontendVIPs ?? []).join(',')}) points at endpoint ${id}, which does not exist`,
        hint: 'traffic to that backend is dropped: the proxy repairs it at its next sync, or delete the load balancer',
      })),
  );

const snapshotErrors: Finder = (snap) =>
  snap.errors.map((e) => ({
    severity: 'warning' as const,
    message: `reading the data plane: ${e}`,
    hint: 'run switchyard diagnose and look at the data plane documents',
  }));

/** What the agent itself knows: readiness, refused or pending peers, a failing reconcile, CNI errors. */
const agentFindings: Finder = (_snap, agent) => {
  if (!agent) return [];
  const out: Problem[] = [];
  for (const m of agent.missing ?? [])
    out.push({
      severity: 'error',
      message: `agent not ready: ${m} missing`,
      hint: `the agent creates it on its next reconcile; see its log for why it could not`,
    });
  for (const p of agent.peers ?? []) {
    if (p.state === 'refused') {
      const vni = /VNI (\S+) differs from this node's (\d+)/.exec(p.reason ?? '');
      out.push({
        severity: 'error',
        message: `peer ${p.node} (${p.publicIp}, ${p.subnet}) refused: ${p.reason}`,
        hint: vni
          ? `peer ${p.publicIp} has VNI ${vni[1]}, this node ${vni[2]}: give every node the same backend VNI`
          : /backend type/.test(p.reason ?? '')
            ? 'every node needs the same flannel backend type (net-conf.json Backend.Type)'
            : "fix the peer node's lease (its podCIDR / PublicIP annotations)",
      });
    } else if (p.state === 'pending') {
      out.push({
        severity: 'warning',
        message: `peer ${p.node} (${p.publicIp}) pending: ${p.reason}`,
        hint: "the peer's agent has not published its VtepMAC yet: check that it runs",
      });
    }
  }
  const r = agent.lastReconcile;
  if (r?.error)
    out.push({
      severity: 'error',
      message: `last reconcile (${r.at}) failed: ${r.error}`,
      hint: 'the agent retries every resync period; the error names the HNS call',
    });
  for (const p of agent.problems ?? []) {
    if (/^peer .* refused:/.test(p)) continue; // reported above with its hint
    out.push({ severity: 'error', message: p, hint: 'see the agent log around the last reconcile' });
  }
  if (agent.cni && agent.cni.errors > 0)
    out.push({
      severity: 'warning',
      message: `${agent.cni.errors} of ${agent.cni.calls} CNI calls failed`,
      hint: 'kubelet retries failed sandboxes: the CNI log and kubectl describe pod show each error',
    });
  return out;
};

const FINDERS: Finder[] = [
  agentFindings,
  vniMismatch,
  peerOverlaps,
  overlayWithoutProvider,
  duplicateIps,
  endpointOutsideSubnet,
  orphanEndpoints,
  staleLbBackends,
  snapshotErrors,
];

export function findProblems(snap: DataplaneSnapshot, agent?: AgentStatus): Problem[] {
  const out = FINDERS.flatMap((f) => f(snap, agent));
  // The agent's view and the data plane's can report the same fact; keep one.
  return out.filter((p, i) => out.findIndex((q) => q.message === p.message) === i);
}

export { nameOf };
