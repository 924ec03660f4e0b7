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
    `  subgraph cluster_node { label=${quote(t.title)}; style=rounded; color="#777777";`,
  ];
  for (const n of t.nodes) if (n.kind !== 'peer') out.push(`    ${n.id} [label=${label(n.label)}, ${SHAPES[n.kind]}];`);
  out.push('  }');
  for (const n of t.nodes) if (n.kind === 'peer') out.push(`  ${n.id} [label=${label(n.label)}, ${SHAPES[n.kind]}];`);
  for (const e of t.edges) {
    const attrs = [...(e.label ? [`label=${quote(e.label)}`] : []), ...(e.style === 'dashed' ? ['style=dashed'] : [])];
    out.push(`  ${e.from} -> ${e.to}${attrs.length ? ` [${attrs.join(', ')}]` : ''};`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}
