/**
 * The node's topology as a graph (networks, endpoints, the host endpoint, load balancers, peers and the path
 * to each), and its Graphviz DOT text. Layout is Graphviz's (render.ts); nothing here places coordinates.
 */
import type { AgentStatus } from '../agent/agent';
import { sameId } from '../hns/json';
import { endpointIps, isHostEndpoint, remoteSubnetsOf, subnetsOf, vniOf, type DataplaneSnapshot } from './snapshot';

export interface TopoNode {
  id: string;
  kind: 'network' | 'endpoint' | 'host-endpoint' | 'load-balancer' | 'peer';
  /** Lines of the label: the object's name first, then its addresses. */
  label: string[];
}
export interface TopoEdge {
  from: string;
  to: string;
  label?: string;
  style?: 'dashed' | 'solid';
}
export interface Topology {
  title: string;
  nodes: TopoNode[];
  edges: TopoEdge[];
  /** A cluster picture: one box per member node, titled; the single-node picture has none (one box, `title`). */
  groups?: { id: string; title: string; members: string[] }[];
}

/** One node of a cluster picture: its data plane's objects and, when its agent answered, the agent's view. */
export interface ClusterMember {
  snap: DataplaneSnapshot;
  agent?: AgentStatus;
  /** Shown when there is no agent to name the node. */
  name: string;
}

/**
 * Several nodes in one picture: each node's objects in a box of its own, and each peer route that leads to
 * another member drawn as an edge between the two networks, labelled with the path (VXLAN VNI or host-gw);
 * peers outside the picture stay peer boxes.
 */
export function buildClusterTopology(members: ClusterMember[]): Topology {
  const nodes: TopoNode[] = [];
  const edges: TopoEdge[] = [];
  const groups: NonNullable<Topology['groups']> = [];
  const tops = members.map((m) => buildTopology(m.snap, m.agent));
  const subnetOf = (m: ClusterMember) => m.agent?.subnet ?? subnetsOf(m.snap.networks[0] ?? {})[0]?.IpAddressPrefix;
  tops.forEach((t, i) => {
    const id = (x: string) => `m${i}_${x}`;
    const m = members[i];
    const mine: string[] = [];
    const peerTo = new Map<string, number>();
    for (const n of t.nodes) {
      if (n.kind === 'peer') {
        const j = members.findIndex((o, k) => k !== i && subnetOf(o) !== undefined && n.label.includes(subnetOf(o)!));
        if (j >= 0) {
          peerTo.set(n.id, j);
          continue;
        }
        nodes.push({ ...n, id: id(n.id) });
        continue;
      }
      nodes.push({ ...n, id: id(n.id) });
      mine.push(id(n.id));
    }
    for (const e of t.edges) {
      const j = peerTo.get(e.to);
      if (j === undefined) {
        edges.push({ ...e, from: id(e.from), to: id(e.to) });
        continue;
      }
      // The other member's network holding the peer's subnet: the route's far end.
      const target = tops[j].nodes.find((x) => x.kind === 'network' && x.label.some((l) => l.includes(subnetOf(members[j])!)));
      const via = t.nodes.find((x) => x.id === e.to)?.label.find((l) => l.startsWith('node IP '));
      const label = [e.label, via?.replace('node IP ', 'to ')].filter(Boolean).join(' ');
      edges.push({ ...e, label, from: id(e.from), to: target ? `m${j}_${target.id}` : `m${j}_net0` });
    }
    groups.push({ id: `cluster_m${i}`, title: `node ${m.agent?.node ?? m.name}${subnetOf(m) ? ` ${subnetOf(m)}` : ''}`, members: mine });
  });
  return { title: `cluster of ${members.length} nodes`, nodes, edges, groups };
}

const PROTOCOLS: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

export function buildTopology(snap: DataplaneSnapshot, agent?: AgentStatus): Topology {
  const nodes: TopoNode[] = [];
  const edges: TopoEdge[] = [];
  const netId = (i: number) => `net${i}`;
  snap.networks.forEach((n, i) => {
    const vni = vniOf(n);
    nodes.push({
      id: netId(i),
      kind: 'network',
      label: [
        `network ${n.Name ?? n.ID}`,
        `${n.Type ?? 'NAT'} ${subnetsOf(n)
          .map((s) => s.IpAddressPrefix)
          .join(', ')}`.trim(),
        ...(vni !== undefined ? [`VNI ${vni}`] : []),
      ],
    });
  });
  snap.endpoints.forEach((e, i) => {
    const host = isHostEndpoint(snap, e);
    const id = `ep${i}`;
    nodes.push({
      id,
      kind: host ? 'host-endpoint' : 'endpoint',
      label: [`${host ? 'host endpoint' : 'endpoint'} ${e.Name ?? e.ID}`, ...endpointIps(e), ...(e.MacAddress ? [e.MacAddress] : [])],
    });
    const n = snap.networks.findIndex((x) => sameId(x.ID, e.HostComputeNetwork));
    if (n >= 0) edges.push({ from: id, to: netId(n) });
  });
  snap.loadBalancers.forEach((lb, i) => {
    const id = `lb${i}`;
    const ports = (lb.PortMappings ?? []).map(
      (p) => `${PROTOCOLS[p.Protocol] ?? p.Protocol}/${p.ExternalPort ?? '*'}→${p.InternalPort ?? '*'}`,
    );
    nodes.push({
      id,
      kind: 'load-balancer',
      label: [`load balancer ${lb.Name ?? lb.ID}`, `VIP ${(lb.FrontendVIPs ?? []).join(', ') || '-'}`, ...ports],
    });
    for (const b of lb.HostComputeEndpoints ?? []) {
      const j = snap.endpoints.findIndex((e) => sameId(e.ID, b));
      if (j >= 0) edges.push({ from: id, to: `ep${j}`, label: 'backend', style: 'dashed' });
    }
  });
  // Peers: programmed routes from the data plane, named and completed (refused, pending) by the agent.
  const peerNames = new Map((agent?.peers ?? []).map((p) => [p.subnet, p]));
  let k = 0;
  snap.networks.forEach((n, i) => {
    for (const r of remoteSubnetsOf(n)) {
      const a = peerNames.get(r.prefix);
      peerNames.delete(r.prefix);
      const id = `peer${k++}`;
      nodes.push({ id, kind: 'peer', label: [`peer ${a?.node ?? r.providerAddress}`, r.prefix, `node IP ${r.providerAddress}`] });
      edges.push({ from: netId(i), to: id, label: r.vni ? `VXLAN VNI ${r.vni}` : 'host-gw route' });
    }
  });
  for (const p of peerNames.values()) {
    const id = `peer${k++}`;
    nodes.push({
      id,
      kind: 'peer',
      label: [`peer ${p.node}`, p.subnet, `node IP ${p.publicIp}`, `${p.state}${p.reason ? `: ${p.reason}` : ''}`],
    });
    const n = snap.networks.findIndex((x) => x.Name === agent?.network.name);
    if (n >= 0) edges.push({ from: netId(n), to: id, label: p.state, style: 'dashed' });
  }
  const title = `node ${agent?.node ?? '(this host)'}${agent?.subnet ? ` ${agent.subnet}` : ''} · data plane ${snap.dataplane}`;
  return { title, nodes, edges };
}

const quote = (s: string) => '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
const label = (lines: string[]) => quote(lines.join('\n')).replace(/\n/g, '\\n');

const SHAPES: Record<TopoNode['kind'], string> = {
  network: 'shape=box, style="rounded,filled", fillcolor="#dbe9f6"',
  endpoint: 'shape=box, style=filled, fillcolor="#f4f4f4"',
  'host-endpoint': 'shape=box, style="filled,bold", fillcolor="#fff2cc"',
  'load-balancer': 'shape=hexagon, style=filled, fillcolor="#e2f0d9"',
  peer: 'shape=box3d, style=filled, fillcolor="#fce4d6"',
};

export function toDot(t: Topology): string {
  const out = [
    'digraph switchyard {',
    '  graph [rankdir=LR, fontname="Helvetica", fontsize=11, nodesep=0.3, ranksep=0.6];',
    '  node [fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  const groups = t.groups ?? [{ id: 'cluster_node', title: t.title, members: t.nodes.filter((n) => n.kind !== 'peer').map((n) => n.id) }];
  if (t.groups) out.push(`  label=${quote(t.title)}; labelloc=t;`);
  const grouped = new Set(groups.flatMap((g) => g.members));
  for (const g of groups) {
    out.push(`  subgraph ${g.id} { label=${quote(g.title)}; style=rounded; color="#777777";`);
    for (const n of t.nodes) if (g.members.includes(n.id)) out.push(`    ${n.id} [label=${label(n.label)}, ${SHAPES[n.kind]}];`);
    out.push('  }');
  }
  for (const n of t.nodes) if (!grouped.has(n.id)) out.push(`  ${n.id} [label=${label(n.label)}, ${SHAPES[n.kind]}];`);
  for (const e of t.edges) {
    const attrs = [...(e.label ? [`label=${quote(e.label)}`] : []), ...(e.style === 'dashed' ? ['style=dashed'] : [])];
    out.push(`  ${e.from} -> ${e.to}${attrs.length ? ` [${attrs.join(', ')}]` : ''};`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}
