/**
 * Renders the endpoint policies' nftables state from the HCN documents: one `inet switchyard` table
 * (OutBoundNAT, NAT networks, PortMapping; load balancers have their own table, lb-nft.ts) and one `bridge switchyard` table (endpoint
 * ACLs, which must see traffic between pods on one bridge). Rendering everything and replacing both tables
 * in one transaction keeps the kernel exactly equal to the documents, after errors and restarts alike.
 * Pure: no I/O.
 */
import type { EndpointPolicy, AclPolicySettings, PortMappingSettings, OutboundNatSettings } from '../../hns';
import { policyTypeIs } from '../../hns';
import { compactGuid } from '../../net/id';

export const TABLE = 'switchyard';

export interface RenderBridge {
  name: string;
  subnet: string;
  nat: boolean;
}
export interface RenderEndpoint {
  id: string;
  ip?: string;
  veth?: string;
  bridge?: string;
  policies: EndpointPolicy[];
}
export interface RenderInput {
  bridges: RenderBridge[];
  endpoints: RenderEndpoint[];
}

export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

const PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'ipv6-icmp' };
const short = (id: string) => compactGuid(id).slice(0, 12);
const q = (name: string) => `"${name.replace(/[^A-Za-z0-9_.-]/g, '')}"`;

function ipv4(s: string, field: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(s.trim());
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || (m[5] !== undefined && Number(m[5]) > 32))
    throw new PolicyError(`${field}: "${s}" is not an IPv4 address or prefix`);
  return s.trim();
}

function port(n: unknown, field: string): number {
  const v = Number(n);
  if (!Number.isInteger(v) || v < 1 || v > 65535) throw new PolicyError(`${field}: ${String(n)} is not a port (1-65535)`);
  return v;
}

function protoName(p: unknown, field: string): string {
  const v = Number(p);
  if (PROTO[v]) return PROTO[v];
  if (Number.isInteger(v) && v > 0 && v < 256) return String(v);
  throw new PolicyError(`${field}: protocol ${String(p)} is not a protocol number (6 = TCP, 17 = UDP)`);
}

/** "10.0.0.0/8,192.168.1.1" → "{ 10.0.0.0/8, 192.168.1.1 }" */
function addrSet(list: string, field: string): string {
  const items = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => ipv4(s, field));
  return items.length === 1 ? items[0] : `{ ${items.join(', ')} }`;
}

/** "80,443,8000-8080" */
function portSet(list: string, field: string): string {
  const items = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [a, b] = s.split('-');
      return b !== undefined ? `${port(a, field)}-${port(b, field)}` : String(port(a, field));
    });
  return items.length === 1 ? items[0] : `{ ${items.join(', ')} }`;
}

/**
 * Packet mark bit set on packets of established/related connections. Bridge-family tables cannot use
 * conntrack on kernels without nf_conntrack_bridge, but bridged IPv4 passes the inet hooks (br_netfilter,
 * net.bridge.bridge-nf-call-iptables) first: the inet table marks, the bridge ACL chains accept marked packets.
 */
export const ESTABLISHED_MARK = '0x00200000';

export function render(input: RenderInput): string {
  return renderInet(input) + renderBridge(input);
}

const hasAcls = (input: RenderInput): boolean =>
  input.endpoints.some((ep) => ep.ip && ep.veth && ep.policies.some((p) => policyTypeIs(p, 'ACL')));

function renderInet(input: RenderInput): string {
  const chains: string[] = [];
  const post: string[] = [];
  const vipMap: string[] = [];
  const localMap: string[] = [];

  for (const br of input.bridges) {
    // Hairpin: a pod reaching a VIP that lands on a pod behind the same bridge must see the reply come back
    // through the NAT, so the connection is masqueraded to the gateway.
    post.push(`iifname ${q(br.name)} oifname ${q(br.name)} ct status dnat masquerade`);
    if (br.nat) post.push(`ip saddr ${ipv4(br.subnet, 'subnet')} oifname != ${q(br.name)} masquerade`);
  }

  for (const ep of input.endpoints) {
    if (!ep.ip) continue;
    const where = `endpoint ${ep.id}`;
    post.push(...outboundNat(ep, where));
    ep.policies.forEach((p, i) => {
      if (policyTypeIs(p, 'PortMapping')) {
        const s = (p.Settings ?? {}) as PortMappingSettings;
        const proto = protoName(s.Protocol, `${where} PortMapping.Protocol`);
        const ext = port(s.ExternalPort, `${where} PortMapping.ExternalPort`);
        const int = port(s.InternalPort ?? s.ExternalPort, `${where} PortMapping.InternalPort`);
        const chain = `hp-${short(ep.id)}-${i}`;
        chains.push(`chain ${chain} {\n\t\tmeta l4proto ${proto} dnat ip to ${ep.ip}:${int}\n\t}`);
        if (s.VIP) vipMap.push(`${ipv4(s.VIP, `${where} PortMapping.VIP`)} . ${proto} . ${ext} : jump ${chain}`);
        else localMap.push(`${proto} . ${ext} : jump ${chain}`);
      }
    });
  }

  // A host port reached through 127.0.0.1 on the node (as portmap allows): the reply must come back to a
  // routable source, so the DNATed loopback connection is masqueraded (route_localnet lets it leave).
  if (localMap.length) post.push('ip saddr 127.0.0.0/8 ct status dnat masquerade');
  const svc: string[] = [];
  if (vipMap.length) svc.push(`ip daddr . meta l4proto . th dport vmap { ${dedupe(vipMap).join(', ')} }`);
  if (localMap.length) svc.push(`fib daddr type local meta l4proto . th dport vmap { ${dedupe(localMap).join(', ')} }`);

  const lines = [`table inet ${TABLE} {`];
  if (svc.length) {
    lines.push(`\tchain services {\n${svc.map((r) => `\t\t${r}`).join('\n')}\n\t}`);
    lines.push(`\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tjump services\n\t}`);
    // dstnat is refused on the output hook; -100 is the same priority.
    lines.push(`\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n\t\tjump services\n\t}`);
  }
  for (const c of chains) lines.push(`\t${c}`);
  if (hasAcls(input)) {
    // Stateful ACLs (see ESTABLISHED_MARK): prerouting sees forwarded, bridged and incoming packets; output the node's own.
    const mark = `\t\tct state established,related meta mark set meta mark | ${ESTABLISHED_MARK}`;
    lines.push(`\tchain acl-state-in {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n${mark}\n\t}`);
    lines.push(`\tchain acl-state-out {\n\t\ttype filter hook output priority mangle; policy accept;\n${mark}\n\t}`);
  }
  if (post.length)
    lines.push(
      `\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n${post.map((r) => `\t\t${r}`).join('\n')}\n\t}`,
    );
  lines.push('}');
  return `table inet ${TABLE}\ndelete table inet ${TABLE}\n` + (lines.length > 2 ? lines.join('\n') + '\n' : '');
}

/**
 * The endpoint's OutBoundNAT policies as masquerade rules. Policies without Destinations together mean one
 * thing: traffic leaving the cluster (not through the endpoint's own bridge) is masqueraded, except toward
 * the union of all their exceptions — so the reference's habit of one policy per exception CIDR excludes
 * them all. A policy with Destinations (loopback DSR) applies only to traffic toward those destinations.
 */
function outboundNat(ep: RenderEndpoint, where: string): string[] {
  const nats = ep.policies.filter((p) => policyTypeIs(p, 'OutBoundNAT')).map((p) => (p.Settings ?? {}) as OutboundNatSettings);
  const action = (s: OutboundNatSettings) =>
    s.VirtualIP ? `snat ip to ${ipv4(s.VirtualIP, `${where} OutBoundNAT.VirtualIP`)}` : 'masquerade';
  const listOf = (v: unknown) =>
    (Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : []).map((x) => String(x).trim()).filter(Boolean);
  const rules: string[] = [];
  for (const s of nats) {
    const dst = listOf(s.Destinations);
    if (dst.length) rules.push(`ip saddr ${ep.ip} ip daddr ${addrSet(dst.join(','), `${where} OutBoundNAT.Destinations`)} ${action(s)}`);
  }
  const general = nats.filter((s) => listOf(s.Destinations).length === 0);
  if (general.length) {
    const vips = [...new Set(general.map((s) => s.VirtualIP).filter(Boolean))];
    if (vips.length > 1)
      throw new PolicyError(
        `${where} OutBoundNAT.VirtualIP: the endpoint's OutBoundNAT policies name different addresses (${vips.join(', ')})`,
      );
    const exc = [...new Set(general.flatMap((s) => listOf(s.Exceptions)))];
    const excMatch = exc.length ? ` ip daddr != ${addrSet(exc.join(','), `${where} OutBoundNAT.Exceptions`)}` : '';
    const out = ep.bridge ? ` oifname != ${q(ep.bridge)}` : '';
    rules.push(`ip saddr ${ep.ip}${excMatch}${out} ${action(general.find((s) => s.VirtualIP) ?? general[0])}`);
  }
  return rules;
}

function dedupe(entries: string[]): string[] {
  const seen = new Set<string>();
  return entries.filter((e) => {
    const key = e.split(' : ')[0];
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function aclRule(s: AclPolicySettings, ip: string, where: string): string {
  const inbound = String(s.Direction).toLowerCase() === 'in';
  const local = inbound ? 'daddr' : 'saddr';
  const remote = inbound ? 'saddr' : 'daddr';
  const parts = [`ip ${local} ${ip}`];
  if (s.LocalAddresses) parts.push(`ip ${local} ${addrSet(s.LocalAddresses, `${where} ACL.LocalAddresses`)}`);
  if (s.RemoteAddresses) parts.push(`ip ${remote} ${addrSet(s.RemoteAddresses, `${where} ACL.RemoteAddresses`)}`);
  const protos = String(s.Protocols ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const hasPorts = !!(s.LocalPorts || s.RemotePorts);
  if (protos.length) {
    const names = protos.map((p) => protoName(p, `${where} ACL.Protocols`));
    parts.push(`meta l4proto ${names.length === 1 ? names[0] : `{ ${names.join(', ')} }`}`);
  } else if (hasPorts) {
    parts.push('meta l4proto { tcp, udp }');
  }
  if (s.LocalPorts) parts.push(`th ${inbound ? 'dport' : 'sport'} ${portSet(s.LocalPorts, `${where} ACL.LocalPorts`)}`);
  if (s.RemotePorts) parts.push(`th ${inbound ? 'sport' : 'dport'} ${portSet(s.RemotePorts, `${where} ACL.RemotePorts`)}`);
  const action = String(s.Action).toLowerCase();
  if (!['allow', 'block', 'pass'].includes(action))
    throw new PolicyError(`${where} ACL.Action: "${String(s.Action)}" must be Allow, Block or Pass`);
  parts.push(action === 'block' ? 'drop' : 'accept');
  return parts.join(' ');
}

function renderBridge(input: RenderInput): string {
  const chains: string[] = [];
  const inMap: string[] = [];
  const outMap: string[] = [];
  for (const ep of input.endpoints) {
    if (!ep.ip || !ep.veth) continue;
    const where = `endpoint ${ep.id}`;
    const acls = ep.policies.filter((p) => policyTypeIs(p, 'ACL')).map((p) => (p.Settings ?? {}) as AclPolicySettings);
    for (const a of acls) {
      const dir = String(a.Direction ?? '').toLowerCase();
      if (dir !== 'in' && dir !== 'out') throw new PolicyError(`${where} ACL.Direction: "${String(a.Direction)}" must be In or Out`);
    }
    // HNS evaluates the lowest Priority number first; the first matching rule decides.
    const byPrio = (x: AclPolicySettings, y: AclPolicySettings) => (x.Priority ?? 0) - (y.Priority ?? 0);
    const ins = acls.filter((a) => String(a.Direction).toLowerCase() === 'in').sort(byPrio);
    const outs = acls.filter((a) => String(a.Direction).toLowerCase() === 'out').sort(byPrio);
    const id = short(ep.id);
    if (ins.length) {
      chains.push(`chain acl-in-${id} {\n${ins.map((a) => `\t\t${aclRule(a, ep.ip!, where)}`).join('\n')}\n\t}`);
      inMap.push(`${q(ep.veth)} : jump acl-in-${id}`);
    }
    if (outs.length) {
      chains.push(`chain acl-out-${id} {\n${outs.map((a) => `\t\t${aclRule(a, ep.ip!, where)}`).join('\n')}\n\t}`);
      outMap.push(`${q(ep.veth)} : jump acl-out-${id}`);
    }
  }
  const head = `table bridge ${TABLE}\ndelete table bridge ${TABLE}\n`;
  if (!chains.length) return head;
  const toPod = inMap.length ? `\t\toifname vmap { ${inMap.join(', ')} }\n` : '';
  const fromPod = outMap.length ? `\t\tiifname vmap { ${outMap.join(', ')} }\n` : '';
  // Stateful like VFP ACLs: packets of a connection an ACL let through (replies included) skip the rules,
  // so only the first packet of a connection is judged by the ACLs of its direction.
  const stateful = `\t\tmeta mark & ${ESTABLISHED_MARK} == ${ESTABLISHED_MARK} accept\n`;
  return (
    head +
    [
      `table bridge ${TABLE} {`,
      `\tchain forward {\n\t\ttype filter hook forward priority 0; policy accept;\n${stateful}${fromPod}${toPod}\t}`,
      `\tchain output {\n\t\ttype filter hook output priority 0; policy accept;\n${toPod ? stateful : ''}${toPod}\t}`,
      `\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n${fromPod ? stateful : ''}${fromPod}\t}`,
      ...chains.map((c) => `\t${c}`),
      '}',
    ].join('\n') +
    '\n'
  );
}
