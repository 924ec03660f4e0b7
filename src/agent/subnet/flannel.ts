/**
 * flannel's wire formats, shared by the kubernetes and etcd sources so that a node running real flannel and
 * a Switchyard agent read each other: the Node annotations (`flannel.alpha.coreos.com/*`), the etcd lease
 * value (`{"PublicIP":…,"PublicIPv6":null,"BackendType":…,"BackendData":…}`, byte for byte what Go's
 * encoding/json makes of flannel's LeaseAttrs), the vxlan backend data (`{"VNI":4096,"VtepMAC":"…"}`) and
 * net-conf.json. Pure: no I/O.
 *
 * Checked against flannel-io/flannel cdf7605: pkg/subnet/kube/{kube,annotations}.go, pkg/lease/lease.go,
 * pkg/backend/vxlan/vxlan.go (vxlanLeaseAttrs, hardwareAddr), pkg/backend/hostgw, pkg/subnet/config.go.
 */
import { parseIP } from '../../cni/ipam/ip';
import { normalizeCidr, subnetRange } from './allocate';
import type { BackendType, ClusterNetConf, LocalAnnouncement, NodeLease } from './types';

export const DEFAULT_ANNOTATION_PREFIX = 'flannel.alpha.coreos.com';
export const DEFAULT_ETCD_PREFIX = '/coreos.com/network';

export interface AnnotationNames {
  kubeSubnetManager: string;
  backendType: string;
  backendData: string;
  publicIp: string;
  publicIpOverwrite: string;
}

/**
 * flannel's `--kube-annotation-prefix` rules: at most one slash; a bare FQDN gets `/`, a prefix with a path
 * part gets `-` before the annotation name (`example.com/net` → `example.com/net-backend-type`).
 */
export function annotationNames(prefix = DEFAULT_ANNOTATION_PREFIX): AnnotationNames {
  const slashes = prefix.split('/').length - 1;
  if (slashes > 1) throw new Error(`annotation prefix "${prefix}": at most one slash is allowed`);
  let p = slashes === 0 ? `${prefix}/` : prefix;
  if (!p.endsWith('/') && !p.endsWith('-')) p += '-';
  if (!/^(?:[a-z0-9_-]+\.)+[a-z0-9_-]+\/(?:[a-z0-9_-]+-)?$/.test(p)) {
    throw new Error(`annotation prefix "${prefix}": must be an FQDN, optionally followed by /name (lowercase letters, digits, - and _)`);
  }
  return {
    kubeSubnetManager: `${p}kube-subnet-manager`,
    backendType: `${p}backend-type`,
    backendData: `${p}backend-data`,
    publicIp: `${p}public-ip`,
    publicIpOverwrite: `${p}public-ip-overwrite`,
  };
}

/** A MAC in Go's net.HardwareAddr.String() form (lowercase, colons); accepts HNS's dash form. */
export function normalizeMac(mac: string, field = 'VtepMAC'): string {
  const m = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i.exec(mac.trim());
  if (!m) throw new Error(`${field}: "${mac}" is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  return [m[1], m[3], m[4], m[5], m[6], m[7]].join(':').toLowerCase();
}

function checkIPv4(ip: string, field: string): string {
  const p = typeof ip === 'string' ? parseIP(ip) : undefined;
  if (!p || p.v !== 4) throw new Error(`${field}: "${String(ip)}" is not an IPv4 address`);
  return ip.trim();
}

/**
 * The backend data JSON flannel publishes: vxlan `{"VNI":4096,"VtepMAC":"aa:…"}` (an unknown MAC is `""`,
 * as flannel's Windows backend announces before HNS made the DR MAC), host-gw `null` (Go's nil RawMessage).
 */
export function backendDataJson(self: LocalAnnouncement): string {
  if (self.backendType !== 'vxlan') return 'null';
  if (self.vni === undefined) throw new Error(`node ${self.node}: vxlan announcement without a VNI`);
  const mac = self.vtepMac ? normalizeMac(self.vtepMac) : '';
  return `{"VNI":${self.vni},"VtepMAC":${JSON.stringify(mac)}}`;
}

interface ParsedBackend {
  vni?: number;
  vtepMac?: string;
}

/** Reads backend data of the given type; throws naming what is wrong. */
export function parseBackendData(type: BackendType, data: unknown): ParsedBackend {
  if (type !== 'vxlan') return {};
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new Error('backend data: vxlan needs {"VNI":…,"VtepMAC":…}');
  const d = data as Record<string, unknown>;
  if (typeof d.VNI !== 'number' || !Number.isInteger(d.VNI) || d.VNI < 0 || d.VNI > 0xffffff)
    throw new Error(`backend data: VNI ${JSON.stringify(d.VNI)} is not a VXLAN network identifier`);
  const out: ParsedBackend = { vni: d.VNI };
  if (d.VtepMAC !== undefined && d.VtepMAC !== null && d.VtepMAC !== '') {
    if (typeof d.VtepMAC !== 'string') throw new Error('backend data: VtepMAC is not a string');
    out.vtepMac = normalizeMac(d.VtepMAC, 'backend data VtepMAC');
  }
  return out;
}

function parseBackendType(t: unknown): BackendType {
  if (t === 'host-gw' || t === 'vxlan') return t;
  throw new Error(`backend type ${JSON.stringify(t)} is not one Switchyard programs (host-gw, vxlan)`);
}

// ---------------------------------------------------------------------------------------------------------
// Kubernetes Node annotations

/** The annotations this node wants on its Node object; `overwrite` is the user's public-ip-overwrite. */
export function desiredAnnotations(self: LocalAnnouncement, names: AnnotationNames, overwrite?: string): Record<string, string> {
  return {
    [names.backendType]: self.backendType,
    [names.backendData]: backendDataJson(self),
    [names.publicIp]: overwrite || checkIPv4(self.publicIp, 'public IP'),
    [names.kubeSubnetManager]: 'true',
  };
}

/** Minimal structural view of a core/v1 Node, so this module needs no client types. */
export interface NodeLike {
  metadata?: { name?: string; annotations?: Record<string, string> | null };
  spec?: { podCIDR?: string; podCIDRs?: string[] | null };
}

/**
 * The node's IPv4 pod subnet: from spec.podCIDRs (dual stack: the IPv4 entry) or spec.podCIDR, as flannel's
 * AcquireLease; undefined when none is assigned yet.
 */
export function nodePodCidr(node: NodeLike): string | undefined {
  const list = node.spec?.podCIDRs?.length ? node.spec.podCIDRs : node.spec?.podCIDR ? [node.spec.podCIDR] : [];
  if (list.length > 2)
    throw new Error(`node ${node.metadata?.name}: spec.podCIDRs has ${list.length} entries (at most one IPv4 and one IPv6)`);
  for (const c of list) {
    const ip = parseIP(c.split('/')[0] ?? '');
    if (ip?.v === 4) return normalizeCidr(c, `node ${node.metadata?.name} spec.podCIDR`);
  }
  return undefined;
}

/**
 * A peer's lease from its Node object, as flannel's nodeToLease; `why` says why a node is not a peer (yet):
 * flannel only considers nodes annotated kube-subnet-manager=true, with a public IP and an IPv4 pod CIDR.
 */
export function leaseFromNode(node: NodeLike, names: AnnotationNames): { lease: NodeLease } | { why: string } {
  const name = node.metadata?.name ?? '';
  const a = node.metadata?.annotations ?? {};
  if (a[names.kubeSubnetManager] !== 'true') return { why: `no ${names.kubeSubnetManager}="true" annotation` };
  try {
    const subnet = nodePodCidr(node);
    if (!subnet) return { why: 'no IPv4 spec.podCIDR' };
    const publicIp = checkIPv4(a[names.publicIp] ?? '', names.publicIp);
    const backendType = parseBackendType(a[names.backendType]);
    let data: unknown = null;
    try {
      data = JSON.parse(a[names.backendData] ?? 'null');
    } catch {
      throw new Error(`${names.backendData}: not JSON`);
    }
    return { lease: { node: name, subnet, publicIp, backendType, ...parseBackendData(backendType, data) } };
  } catch (e) {
    return { why: (e as Error).message };
  }
}

// ---------------------------------------------------------------------------------------------------------
// etcd lease values

/**
 * The etcd lease value, exactly as Go marshals flannel's LeaseAttrs: field order PublicIP, PublicIPv6 (a
 * pointer without omitempty, so `null`), BackendType, BackendData (omitted when nil, i.e. host-gw).
 */
export function leaseValueJson(self: LocalAnnouncement): string {
  const ip = JSON.stringify(checkIPv4(self.publicIp, 'public IP'));
  const data = self.backendType === 'vxlan' ? `,"BackendData":${backendDataJson(self)}` : '';
  return `{"PublicIP":${ip},"PublicIPv6":null,"BackendType":${JSON.stringify(self.backendType)}${data}}`;
}

/** A lease from an etcd key's subnet and value; throws naming the key when the value is not flannel's. */
export function parseLeaseValue(subnet: string, value: string, node?: string): NodeLease {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(value) as Record<string, unknown>;
  } catch {
    throw new Error(`lease ${subnet}: value is not JSON`);
  }
  if (v === null || typeof v !== 'object') throw new Error(`lease ${subnet}: value is not a JSON object`);
  try {
    const publicIp = checkIPv4(v.PublicIP as string, 'PublicIP');
    const backendType = parseBackendType(v.BackendType);
    // Without a node name in flannel's format, a peer is known by its public IP (flannel's identity too).
    return { node: node ?? publicIp, subnet, publicIp, backendType, ...parseBackendData(backendType, v.BackendData ?? null) };
  } catch (e) {
    throw new Error(`lease ${subnet}: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// net-conf.json

/** net-conf.json parsed with flannel's defaults plus the mixed-cluster vxlan defaults (VNI 4096, port 4789). */
export function parseNetConf(text: string, source = 'net-conf'): ClusterNetConf {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${source}: not a JSON object`);
  const at = (field: string) => `${source}: ${field}`;
  if (typeof raw.Network !== 'string') throw new Error(`${at('Network')}: required (the cluster pod CIDR, e.g. 10.244.0.0/16)`);
  if (raw.SubnetLen !== undefined && typeof raw.SubnetLen !== 'number') throw new Error(`${at('SubnetLen')}: must be a number`);
  for (const f of ['SubnetMin', 'SubnetMax'] as const)
    if (raw[f] !== undefined && typeof raw[f] !== 'string') throw new Error(`${at(f)}: must be an IPv4 address string`);
  let range;
  try {
    range = subnetRange({
      network: raw.Network,
      subnetLen: raw.SubnetLen as number | undefined,
      subnetMin: raw.SubnetMin as string | undefined,
      subnetMax: raw.SubnetMax as string | undefined,
    });
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  const be = (raw.Backend ?? {}) as Record<string, unknown>;
  if (typeof be !== 'object' || be === null || Array.isArray(be)) throw new Error(`${at('Backend')}: must be an object`);
  // flannel's default backend is udp, which Switchyard does not realize: name it rather than guess.
  if (be.Type !== 'host-gw' && be.Type !== 'vxlan')
    throw new Error(`${at('Backend.Type')}: ${JSON.stringify(be.Type ?? null)} is not supported (host-gw or vxlan)`);
  const vni = be.VNI ?? 4096;
  const port = be.Port ?? 4789;
  if (typeof vni !== 'number' || !Number.isInteger(vni) || vni < 1 || vni > 0xffffff)
    throw new Error(`${at('Backend.VNI')}: ${JSON.stringify(vni)} is not a VXLAN network identifier`);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`${at('Backend.Port')}: ${JSON.stringify(port)} is not a UDP port`);
  if (be.DirectRouting !== undefined && typeof be.DirectRouting !== 'boolean')
    throw new Error(`${at('Backend.DirectRouting')}: must be true or false`);
  return {
    network: range.network,
    subnetLen: range.subnetLen,
    subnetMin: range.subnetMin,
    subnetMax: range.subnetMax,
    backend: { type: be.Type, vni, port, directRouting: be.DirectRouting === true },
  };
}

/** net-conf.json text for a ClusterNetConf (what the etcd source seeds `<prefix>/config` with). */
export function formatNetConf(conf: ClusterNetConf): string {
  const backend: Record<string, unknown> = { Type: conf.backend.type };
  if (conf.backend.type === 'vxlan')
    Object.assign(backend, {
      VNI: conf.backend.vni,
      Port: conf.backend.port,
      ...(conf.backend.directRouting ? { DirectRouting: true } : {}),
    });
  return JSON.stringify({
    Network: conf.network,
    SubnetLen: conf.subnetLen,
    ...(conf.subnetMin ? { SubnetMin: conf.subnetMin } : {}),
    ...(conf.subnetMax ? { SubnetMax: conf.subnetMax } : {}),
    Backend: backend,
  });
}

/** What differs between two cluster configurations that must agree (node-local and cluster-stored). */
export function netConfDifferences(a: ClusterNetConf, b: ClusterNetConf): string[] {
  const out: string[] = [];
  if (normalizeCidr(a.network, 'Network') !== normalizeCidr(b.network, 'Network')) out.push(`Network ${a.network} ≠ ${b.network}`);
  if (a.subnetLen !== b.subnetLen) out.push(`SubnetLen ${a.subnetLen} ≠ ${b.subnetLen}`);
  if (a.backend.type !== b.backend.type) out.push(`Backend.Type ${a.backend.type} ≠ ${b.backend.type}`);
  else if (a.backend.type === 'vxlan') {
    if (a.backend.vni !== b.backend.vni) out.push(`Backend.VNI ${a.backend.vni} ≠ ${b.backend.vni}`);
    if (a.backend.port !== b.backend.port) out.push(`Backend.Port ${a.backend.port} ≠ ${b.backend.port}`);
  }
  return out;
}
