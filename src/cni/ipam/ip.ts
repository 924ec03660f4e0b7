/**
 * IP arithmetic for the allocator: addresses as bigint with a family, printed the way Go's net.IP.String
 * does (dotted quad; RFC 5952 compressed lowercase IPv6), since those strings are the store's file names.
 */
import * as ipaddr from 'ipaddr.js';

export interface IP { v: 4 | 6; n: bigint }
export interface IPNet { ip: IP; prefix: number }

const V4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function parseIP(text: string): IP | undefined {
  const s = text.trim();
  if (V4_RE.test(s)) {
    const p = s.split('.').map(Number);
    return { v: 4, n: BigInt(((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3]) };
  }
  if (s.includes(':') && ipaddr.IPv6.isValid(s) && !s.includes('%')) {
    const addr = ipaddr.IPv6.parse(s);
    if (addr.isIPv4MappedAddress()) return parseIP(addr.toIPv4Address().toString());
    let n = 0n;
    for (const part of addr.parts) n = (n << 16n) | BigInt(part);
    return { v: 6, n };
  }
  return undefined;
}

export const bits = (ip: IP): number => (ip.v === 4 ? 32 : 128);

export function formatIP(ip: IP): string {
  if (ip.v === 4) {
    const n = Number(ip.n);
    return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  }
  const parts: number[] = [];
  for (let i = 7; i >= 0; i--) parts.push(Number((ip.n >> BigInt(i * 16)) & 0xffffn));
  return new ipaddr.IPv6(parts).toRFC5952String();
}

/** net.ParseCIDR: returns the address as written and the prefix. */
export function parseCIDR(text: string): { ip: IP; prefix: number } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const ip = parseIP(m[1]);
  const prefix = Number(m[2]);
  if (!ip || prefix > bits(ip)) return undefined;
  return { ip, prefix };
}

export function maskOf(v: 4 | 6, prefix: number): bigint {
  const b = v === 4 ? 32 : 128;
  return ((1n << BigInt(b)) - 1n) ^ ((1n << BigInt(b - prefix)) - 1n);
}

export function networkOf(ip: IP, prefix: number): IP {
  return { v: ip.v, n: ip.n & maskOf(ip.v, prefix) };
}

export function lastOf(net: IPNet): IP {
  return { v: net.ip.v, n: net.ip.n | (((1n << BigInt(bits(net.ip))) - 1n) ^ maskOf(net.ip.v, net.prefix)) };
}

export function contains(net: IPNet, ip: IP): boolean {
  return ip.v === net.ip.v && (ip.n & maskOf(ip.v, net.prefix)) === (net.ip.n & maskOf(ip.v, net.prefix));
}

export const nextIP = (ip: IP): IP => ({ v: ip.v, n: (ip.n + 1n) & ((1n << BigInt(bits(ip))) - 1n) });
export const prevIP = (ip: IP): IP => ({ v: ip.v, n: ip.n - 1n });
export const sameIP = (a: IP | undefined, b: IP | undefined): boolean => !!a && !!b && a.v === b.v && a.n === b.n;
export const cmpIP = (a: IP, b: IP): number => (a.n < b.n ? -1 : a.n > b.n ? 1 : 0);

export function formatCIDR(ip: IP, prefix: number): string {
  return `${formatIP(ip)}/${prefix}`;
}
