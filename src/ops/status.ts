/**
 * The node's status as `switchyard status` prints it: built from the agent's status (when an agent answers
 * on its local API) merged with a direct read of the data plane, or from the data plane alone.
 */
import type { AgentStatus } from '../agent/agent';
import type { CniSummary } from '../agent/metrics';
import { sameId } from '../hns/json';
import { findProblems, type Problem } from './problems';
import { endpointIps, isHostEndpoint, remoteSubnetsOf, subnetsOf, vniOf, type DataplaneSnapshot } from './snapshot';

export interface NodeStatus {
  /** Where the node-level facts come from. */
  source: 'agent' | 'dataplane';
  agentSocket: string;
  dataplane: string;
  hnsVersion?: string;
  node?: string;
  subnet?: string;
  subnetSource?: string;
  ready?: boolean;
  networks: { name: string; id?: string; type: string; subnets: string[]; vni?: number }[];
  /** The host endpoint (the node's own address on the pod network) and the source-VIP endpoint. */
  hostEndpoints: { role: 'host' | 'source-vip'; name: string; ip: string; id?: string; ready: boolean }[];
  peers: { node?: string; subnet: string; publicIp: string; state: string; path: string; reason?: string }[];
  endpoints: number;
  loadBalancers: number;
  lastReconcile?: { at: string; reason: string; durationMs: number; steps: number; repairs: string[]; error?: string };
  driftRepairs?: number;
  cni?: CniSummary;
  problems: Problem[];
  ok: boolean;
}

function pathOf(vni: number | undefined, via: string): string {
  return vni ? `vxlan vni ${vni} via ${via}` : `host-gw via ${via}`;
}

export function buildStatus(snap: DataplaneSnapshot, agentSocket: string, agent?: AgentStatus): NodeStatus {
  const networks = snap.networks
    .filter((n) => n.Type !== 'NAT' || n.Name !== 'nat')
    .map((n) => {
      const vni = vniOf(n);
      return {
        name: n.Name ?? n.ID ?? '',
        ...(n.ID ? { id: n.ID } : {}),
        type: String(n.Type ?? 'NAT'),
        subnets: subnetsOf(n).map((s) => s.IpAddressPrefix ?? ''),
        ...(vni !== undefined ? { vni } : {}),
      };
    });
  const hostEndpoints: NodeStatus['hostEndpoints'] = [];
  if (agent?.hostEndpoint) hostEndpoints.push({ role: 'host', ...agent.hostEndpoint });
  if (agent?.sourceVip)
    hostEndpoints.push({
      role: 'source-vip',
      name: agent.sourceVip.endpoint,
      ip: agent.sourceVip.ip,
      ...(agent.sourceVip.id ? { id: agent.sourceVip.id } : {}),
      ready: !!agent.sourceVip.id,
    });
  for (const e of snap.endpoints) {
    if (hostEndpoints.some((h) => h.id && sameId(h.id, e.ID))) continue;
    if (isHostEndpoint(snap, e))
      hostEndpoints.push({ role: 'host', name: e.Name ?? '', ip: endpointIps(e).join(','), ...(e.ID ? { id: e.ID } : {}), ready: true });
  }
  // Peers: the agent knows node names and refusals; the data plane knows what is programmed.
  const routes = snap.networks.flatMap(remoteSubnetsOf);
  const peers: NodeStatus['peers'] = (agent?.peers ?? []).map((p) => {
    const r = routes.find((x) => x.prefix === p.subnet);
    const vni = r ? r.vni : agent?.backend.vni;
    return {
      node: p.node,
      subnet: p.subnet,
      publicIp: p.publicIp,
      state: p.state === 'programmed' && !r ? 'programmed (route missing)' : p.state,
      path: pathOf(agent?.backend.type === 'vxlan' ? vni : 0, p.publicIp),
      ...(p.reason ? { reason: p.reason } : {}),
    };
  });
  for (const r of routes)
    if (!peers.some((p) => p.subnet === r.prefix))
      peers.push({ subnet: r.prefix, publicIp: r.providerAddress, state: 'programmed', path: pathOf(r.vni, r.providerAddress) });
  const problems = findProblems(snap, agent);
  for (const p of peers)
    if (p.state === 'programmed (route missing)')
      problems.push({
        severity: 'error',
        message: `peer ${p.node} (${p.subnet}) is programmed by the agent but its route is not on the data plane`,
        hint: 'something removed it: the agent repairs it at its next reconcile (counted in drift repairs)',
      });
  const last = agent?.lastReconcile;
  return {
    source: agent ? 'agent' : 'dataplane',
    agentSocket,
    dataplane: snap.dataplane,
    ...(snap.hnsVersion ? { hnsVersion: snap.hnsVersion } : {}),
    ...(agent
      ? { node: agent.node, ...(agent.subnet ? { subnet: agent.subnet } : {}), subnetSource: agent.subnetSource, ready: agent.ready }
      : {}),
    networks,
    hostEndpoints,
    peers,
    endpoints: snap.endpoints.length,
    loadBalancers: snap.loadBalancers.length,
    ...(last
      ? {
          lastReconcile: {
            at: last.at,
            reason: last.reason,
            durationMs: last.durationMs,
            steps: last.steps.length,
            repairs: last.repairs,
            ...(last.error ? { error: last.error } : {}),
          },
        }
      : {}),
    ...(agent?.driftRepairs !== undefined ? { driftRepairs: agent.driftRepairs } : {}),
    ...(agent?.cni ? { cni: agent.cni } : {}),
    problems,
    ok: !problems.some((p) => p.severity === 'error'),
  };
}

/** The people's rendering: a few aligned sections, kubectl describe-like. */
export function statusText(s: NodeStatus): string {
  const lines: string[] = [];
  const kv = (k: string, v: string | number | undefined) => lines.push(`${(k + ':').padEnd(16)}${v === undefined || v === '' ? '-' : v}`);
  kv('Node', s.node ?? '(no agent: data plane only)');
  kv('Source', s.source === 'agent' ? `agent (${s.agentSocket})` : `data plane (no agent answers on ${s.agentSocket})`);
  kv('Data plane', `${s.dataplane}${s.hnsVersion ? ` (HNS ${s.hnsVersion})` : ''}`);
  if (s.subnet || s.subnetSource) kv('Subnet', `${s.subnet ?? '-'}${s.subnetSource ? ` (from ${s.subnetSource})` : ''}`);
  if (s.ready !== undefined) kv('Ready', s.ready ? 'yes' : 'no');
  lines.push('Networks:');
  if (!s.networks.length) lines.push('  (none)');
  for (const n of s.networks)
    lines.push(`  ${n.name}  ${n.type}  ${n.subnets.join(',') || '-'}${n.vni !== undefined ? `  VNI ${n.vni}` : ''}`);
  lines.push('Host endpoints:');
  if (!s.hostEndpoints.length) lines.push('  (none)');
  for (const h of s.hostEndpoints) lines.push(`  ${h.role}  ${h.name}  ${h.ip}${h.ready ? '' : '  (not ready)'}`);
  lines.push('Peers:');
  if (!s.peers.length) lines.push('  (none)');
  for (const p of s.peers) lines.push(`  ${p.node ?? p.publicIp}  ${p.subnet}  ${p.state}  ${p.path}${p.reason ? `  (${p.reason})` : ''}`);
  kv('Endpoints', s.endpoints);
  kv('Load balancers', s.loadBalancers);
  if (s.lastReconcile) {
    const r = s.lastReconcile;
    kv('Last reconcile', `${r.at} (${r.reason}, ${r.durationMs} ms, ${r.steps} steps${r.error ? `, failed: ${r.error}` : ''})`);
  }
  if (s.driftRepairs !== undefined) kv('Drift repairs', s.driftRepairs);
  if (s.cni) {
    const c = s.cni;
    const by = Object.entries(c.byCommand)
      .map(([k, v]) => `${k} ${v.calls}`)
      .join(', ');
    kv('CNI calls', `${c.calls}${by ? ` (${by})` : ''}, ${c.errors} errors, p50 ${c.p50Ms ?? '-'} ms, p95 ${c.p95Ms ?? '-'} ms`);
  }
  lines.push('Problems:');
  if (!s.problems.length) lines.push('  (none)');
  for (const p of s.problems) lines.push(`  ${p.severity.toUpperCase()}  ${p.message}`, `         hint: ${p.hint}`);
  return lines.join('\n') + '\n';
}
