/**
 * The one copy of IP and CIDR arithmetic. Addresses are a family and a bigint, so IPv4 and IPv6 share
 * one code path; parsing is strict (dotted quads without leading zeros, no zone IDs, so "10.1" is never
 * silently 10.0.0.1) and printing is RFC 5952 (compressed lower-case IPv6), which is also what Go's
 * net.IP.String prints — the host-local store's file names depend on that.
 */
import * as ipaddr from 'ipaddr.js';

export interface IP {
  v: 4 | 6;
  n: bigint;
}
/** A prefix as written: `ip` may carry host bits (net.ParseCIDR's "IP" half). */
export interface IPNet {
  ip: IP;
  prefix: number;
}

export const bits = (ip: { v: 4 | 6 }): number => (ip.v === 4 ? 32 : 128);

const V4_RE = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

function toBig(parts: number[], width: number): bigint {
  let v = 0n;
  for (const p of parts) v = (v << BigInt(width)) | BigInt(p);
  return v;
}

/** Strict parse (what HNS accepts): a dotted quad or an IPv6 address without a zone; anything else is undefined. */
export function parseIp(text: unknown): IP | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  // Dotted quads are parsed here (the emulator scans every endpoint address on every mutation).
  const m = V4_RE.exec(text);
  if (m) {
    const o = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
    if (o.some((x) => x > 255)) return undefined;
    return { v: 4, n: toBig(o, 8) };
  }
  if (!text.includes(':') || text.includes('%') || !ipaddr.IPv6.isValid(text)) return undefined;
  return { v: 6, n: toBig(ipaddr.IPv6.parse(text).parts, 16) };
}

/** Go's net.ParseIP as the CNI plugins see it: surrounding space ignored, an IPv4-mapped IPv6 address is IPv4. */
export function parseIpGo(text: string): IP | undefined {
  const ip = parseIp(text.trim());
  if (ip?.v === 6 && ip.n >> 32n === 0xffffn) return { v: 4, n: ip.n & 0xffffffffn };
  return ip;
}

export function formatIp(ip: IP): string {
  if (ip.v === 4) {
    const n = Number(ip.n);
    return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  }
  const parts: number[] = [];
  for (let i = 7; i >= 0; i--) parts.push(Number((ip.n >> BigInt(i * 16)) & 0xffffn));
  return new ipaddr.IPv6(parts).toRFC5952String();
}

/** Canonical text of an address (IPv6 compressed), or undefined when it is not one. */
export function canonicalIp(text: unknown): string | undefined {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : undefined;
}

/** "address/length" split and parsed, the length not yet checked against the family (see prefixInRange). */
export function splitCidr(text: unknown): IPNet | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  const ip = m ? parseIp(m[1]) : undefined;
  return ip ? { ip, prefix: Number(m![2]) } : undefined;
}

export function prefixInRange(net: IPNet): boolean {
  return net.prefix >= 0 && net.prefix <= bits(net.ip);
}

/** "a.b.c.d/n" or "x::/n" with host bits kept; undefined when it is not a prefix of that family. */
export function parseCidr(text: unknown): IPNet | undefined {
  const net = splitCidr(text);
  return net && prefixInRange(net) ? net : undefined;
}

/** net.ParseCIDR as the CNI plugins see it (surrounding space ignored, IPv4-mapped addresses are IPv4). */
export function parseCidrGo(text: string): IPNet | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const ip = parseIpGo(m[1]);
  const prefix = Number(m[2]);
  if (!ip || prefix > bits(ip)) return undefined;
  return { ip, prefix };
}

export function formatCidr(ip: IP, prefix: number): string {
  return `${formatIp(ip)}/${prefix}`;
}

export function maskOf(v: 4 | 6, prefix: number): bigint {
  const b = v === 4 ? 32 : 128;
  return ((1n << BigInt(b)) - 1n) ^ ((1n << BigInt(b - prefix)) - 1n);
}

export function hostMask(net: IPNet): bigint {
  return (1n << BigInt(bits(net.ip) - net.prefix)) - 1n;
}

export function hasHostBits(net: IPNet): boolean {
  return (net.ip.n & hostMask(net)) !== 0n;
}

export function networkOf(ip: IP, prefix: number): IP {
  return { v: ip.v, n: ip.n & maskOf(ip.v, prefix) };
}

/** The last address of the prefix (the IPv4 broadcast address). */
export function lastOf(net: IPNet): IP {
  return { v: net.ip.v, n: (net.ip.n & maskOf(net.ip.v, net.prefix)) | hostMask(net) };
}

export function contains(net: IPNet, ip: IP): boolean {
  return ip.v === net.ip.v && (ip.n & maskOf(ip.v, net.prefix)) === (net.ip.n & maskOf(ip.v, net.prefix));
}

export const nextIp = (ip: IP): IP => ({ v: ip.v, n: (ip.n + 1n) & ((1n << BigInt(bits(ip))) - 1n) });
export const prevIp = (ip: IP): IP => ({ v: ip.v, n: ip.n - 1n });
export const sameIp = (a: IP | undefined, b: IP | undefined): boolean => !!a && !!b && a.v === b.v && a.n === b.n;
export const cmpIp = (a: IP, b: IP): number => (a.n < b.n ? -1 : a.n > b.n ? 1 : 0);

/** Do two address strings name the same address ("10.0.0.1" and "::a00:1" do not)? */
export function sameIpText(a: unknown, b: unknown): boolean {
  return sameIp(parseIp(a), parseIp(b));
}

// ---- predicates the structural validator and the CLI use (ipaddr.js's own rules) ------------------------

export function isIpv4(s: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(s);
}
export function isIpv6(s: string): boolean {
  return !s.includes('%') && ipaddr.IPv6.isValid(s);
}
export function isIp(s: unknown): s is string {
  return typeof s === 'string' && (isIpv4(s) || isIpv6(s));
}
export function ipFamily(s: string): 4 | 6 | undefined {
  return isIpv4(s) ? 4 : isIpv6(s) ? 6 : undefined;
}
export function isCidr(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return false;
  const fam = ipFamily(m[1]);
  return fam !== undefined && Number(m[2]) <= (fam === 4 ? 32 : 128);
}
/** Is `ip` inside `cidr` (same family)? */
export function cidrContains(cidr: string, ip: string): boolean {
  if (!isCidr(cidr) || !isIp(ip)) return false;
  const [range, prefix] = ipaddr.parseCIDR(cidr);
  const addr = ipaddr.parse(ip);
  return addr.kind() === range.kind() && addr.match(range, prefix);
}
