/**
 * Pure IPv4 subnet arithmetic for flannel-style leases: the range of node subnets a cluster network offers
 * (flannel's SubnetLen/SubnetMin/SubnetMax defaults and checks), the etcd key spelling of a subnet
 * (`10.244.3.0-24`), and picking a free subnet. No I/O here, so every rule is unit-testable; the etcd
 * source makes the pick race-safe with a transaction.
 */
import { formatCidr as formatCIDR, formatIp as formatIP, maskOf, parseCidrGo as parseCIDR, parseIpGo as parseIP } from '../../net/ip';

/** The node-subnet range of a cluster network, as flannel's CheckNetworkConfig settles it. */
export interface SubnetRange {
  /** Cluster network, normalized CIDR. */
  network: string;
  subnetLen: number;
  /** First and last subnet base addresses that may be leased (inclusive), dotted quads. */
  subnetMin: string;
  subnetMax: string;
}

export interface RangeInput {
  network: string;
  subnetLen?: number;
  subnetMin?: string;
  subnetMax?: string;
}

interface V4Net {
  base: bigint;
  prefix: number;
}

/** Parses an IPv4 CIDR into its network base; throws naming `field`. */
export function parseV4Net(text: string, field: string): V4Net {
  const c = typeof text === 'string' ? parseCIDR(text) : undefined;
  if (!c || c.ip.v !== 4) throw new Error(`${field}: "${String(text)}" is not an IPv4 CIDR`);
  return { base: c.ip.n & maskOf(4, c.prefix), prefix: c.prefix };
}

function parseV4(text: string, field: string): bigint {
  const ip = typeof text === 'string' ? parseIP(text) : undefined;
  if (!ip || ip.v !== 4) throw new Error(`${field}: "${String(text)}" is not an IPv4 address`);
  return ip.n;
}

const fmt = (n: bigint): string => formatIP({ v: 4, n });
const size = (prefix: number): bigint => 1n << BigInt(32 - prefix);

/** Normalized CIDR (host bits cleared): `10.244.3.7/24` → `10.244.3.0/24`. */
export function normalizeCidr(text: string, field = 'subnet'): string {
  const n = parseV4Net(text, field);
  return formatCIDR({ v: 4, n: n.base }, n.prefix);
}

/**
 * flannel's rules: SubnetLen defaults to 24 when the network is /22 or wider, else network+2; it must be
 * ≤ 30 and leave room for at least four subnets; the first subnet is skipped (its .0 would be the network
 * address); SubnetMin/SubnetMax must lie in the network and on a SubnetLen boundary.
 */
export function subnetRange(input: RangeInput): SubnetRange {
  const net = parseV4Net(input.network, 'Network');
  let subnetLen = input.subnetLen ?? 0;
  if (!Number.isInteger(subnetLen) || subnetLen < 0) throw new Error(`SubnetLen: ${String(input.subnetLen)} is not a prefix length`);
  if (subnetLen > 0) {
    if (subnetLen > 30) throw new Error(`SubnetLen: /${subnetLen} is too long (at most /30)`);
    if (subnetLen < net.prefix + 2) throw new Error(`SubnetLen: /${subnetLen} leaves Network ${input.network} fewer than four subnets`);
  } else if (net.prefix > 28) {
    throw new Error(`Network: ${input.network} is too small (the smallest useful network is a /28)`);
  } else {
    subnetLen = net.prefix <= 22 ? 24 : net.prefix + 2;
  }
  const netLast = net.base + size(net.prefix) - 1n;
  const inNet = (n: bigint) => n >= net.base && n <= netLast;
  const aligned = (n: bigint) => (n & maskOf(4, subnetLen)) === n;
  const min = input.subnetMin ? parseV4(input.subnetMin, 'SubnetMin') : net.base + size(subnetLen);
  const max = input.subnetMax ? parseV4(input.subnetMax, 'SubnetMax') : netLast + 1n - size(subnetLen);
  if (!inNet(min)) throw new Error(`SubnetMin: ${fmt(min)} is not inside Network ${input.network}`);
  if (!inNet(max)) throw new Error(`SubnetMax: ${fmt(max)} is not inside Network ${input.network}`);
  if (!aligned(min)) throw new Error(`SubnetMin: ${fmt(min)} is not on a /${subnetLen} boundary`);
  if (!aligned(max)) throw new Error(`SubnetMax: ${fmt(max)} is not on a /${subnetLen} boundary`);
  if (min > max) throw new Error(`SubnetMin: ${fmt(min)} is above SubnetMax ${fmt(max)}`);
  return { network: formatCIDR({ v: 4, n: net.base }, net.prefix), subnetLen, subnetMin: fmt(min), subnetMax: fmt(max) };
}

/** Whether `cidr` is a subnet this range could lease (flannel's isSubnetConfigCompat). */
export function isLeasable(range: SubnetRange, cidr: string): boolean {
  const sn = parseV4Net(cidr, 'subnet');
  const min = parseV4(range.subnetMin, 'SubnetMin');
  const max = parseV4(range.subnetMax, 'SubnetMax');
  return sn.prefix === range.subnetLen && sn.base >= min && sn.base <= max;
}

/** Whether `inner` lies entirely inside `outer` (flannel's containsCIDR for a node's podCIDR). */
export function cidrContains(outer: string, inner: string): boolean {
  const o = parseV4Net(outer, 'network');
  const i = parseV4Net(inner, 'subnet');
  return o.prefix <= i.prefix && (i.base & maskOf(4, o.prefix)) === o.base;
}

function overlaps(a: V4Net, b: V4Net): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (a.base & maskOf(4, p)) === (b.base & maskOf(4, p));
}

/**
 * Free subnets in range order, at most `limit` (flannel looks at the first 100 and picks one at random, so
 * nodes starting together rarely race for the same key). Subnets overlapping any taken CIDR are skipped.
 */
export function freeSubnets(range: SubnetRange, taken: readonly string[], limit = 100): string[] {
  const used = taken.map((t) => parseV4Net(t, 'lease'));
  const step = size(range.subnetLen);
  const out: string[] = [];
  const max = parseV4(range.subnetMax, 'SubnetMax');
  for (let b = parseV4(range.subnetMin, 'SubnetMin'); b <= max && out.length < limit; b += step) {
    const sn = { base: b, prefix: range.subnetLen };
    if (!used.some((u) => overlaps(u, sn))) out.push(formatCIDR({ v: 4, n: b }, range.subnetLen));
  }
  return out;
}

/** One free subnet, chosen at random among the first 100; throws when the network is exhausted. */
export function pickFreeSubnet(range: SubnetRange, taken: readonly string[], random: () => number = Math.random): string {
  const free = freeSubnets(range, taken);
  if (free.length === 0)
    throw new Error(
      `out of subnets: every /${range.subnetLen} of Network ${range.network} between ${range.subnetMin} and ${range.subnetMax} is leased`,
    );
  return free[Math.min(free.length - 1, Math.floor(random() * free.length))];
}

/** etcd key spelling of a subnet, flannel's MakeSubnetKey: `10.244.3.0/24` → `10.244.3.0-24`. */
export function subnetKey(cidr: string): string {
  const n = parseV4Net(cidr, 'subnet');
  return `${fmt(n.base)}-${n.prefix}`;
}

/** The CIDR an etcd lease key names (`…/subnets/10.244.3.0-24`), or undefined for other keys. */
export function parseSubnetKey(key: string): string | undefined {
  // flannel's regexp also accepts a dual-stack `&<v6>-<len>` tail; the IPv4 part is what we lease.
  const m = /(\d+\.\d+\.\d+\.\d+)-(\d+)(?:&[a-f\d:]+-\d+)?$/.exec(key);
  if (!m) return undefined;
  const prefix = Number(m[2]);
  const ip = parseIP(m[1]);
  if (!ip || ip.v !== 4 || prefix > 32) return undefined;
  return formatCIDR(ip, prefix);
}

/** The subnet's first address with the prefix, as flannel writes FLANNEL_SUBNET: `10.244.2.0/24` → `10.244.2.1/24`. */
export function firstAddressCidr(cidr: string): string {
  const n = parseV4Net(cidr, 'subnet');
  return formatCIDR({ v: 4, n: n.base + 1n }, n.prefix);
}
