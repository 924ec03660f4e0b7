/**
 * Address arithmetic the emulator needs (subnet membership, next free address, reserved addresses).
 * Parsing is ipaddr.js (strict dotted quads for IPv4, so "10.1" is not silently 10.0.0.1); arithmetic is
 * bigint so IPv4 and IPv6 share one code path.
 */
import * as ipaddr from 'ipaddr.js';

export interface Ip {
  family: 4 | 6;
  value: bigint;
}

export interface Cidr {
  family: 4 | 6;
  /** Address as written (may carry host bits). */
  addr: bigint;
  prefix: number;
}

const bitsOf = (family: 4 | 6): number => (family === 4 ? 32 : 128);

function toBig(bytes: number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

const V4_RE = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

export function parseIp(text: unknown): Ip | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  // Dotted quads are parsed here (every mutation scans every endpoint address); the rest goes to ipaddr.js.
  const m = V4_RE.exec(text);
  if (m) {
    const o = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
    if (o.some((x) => x > 255)) return undefined;
    return { family: 4, value: BigInt(((o[0] << 24) >>> 0) + (o[1] << 16) + (o[2] << 8) + o[3]) };
  }
  if (!text.includes(':') || text.includes('%')) return undefined;
  if (ipaddr.IPv6.isValid(text)) {
    const a = ipaddr.IPv6.parse(text);
    return { family: 6, value: toBig(a.toByteArray()) };
  }
  return undefined;
}

/** Parses "a.b.c.d/n" or "x::/n"; undefined when it is not a CIDR at all. Host bits are kept. */
export function parseCidr(text: unknown): Cidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const p = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(p)) return undefined;
  return { family: ip.family, addr: ip.value, prefix: Number(p) };
}

export function prefixInRange(c: Cidr): boolean {
  return c.prefix >= 0 && c.prefix <= bitsOf(c.family);
}

export function hostMask(c: Cidr): bigint {
  return (1n << BigInt(bitsOf(c.family) - c.prefix)) - 1n;
}

export function hasHostBits(c: Cidr): boolean {
  return (c.addr & hostMask(c)) !== 0n;
}

export function networkAddress(c: Cidr): bigint {
  return c.addr & ~hostMask(c);
}

export function lastAddress(c: Cidr): bigint {
  return networkAddress(c) | hostMask(c);
}

export function contains(c: Cidr, ip: Ip): boolean {
  return ip.family === c.family && (ip.value & ~hostMask(c)) === networkAddress(c);
}

export function formatIp(family: 4 | 6, value: bigint): string {
  const n = family === 4 ? 4 : 16;
  const bytes: number[] = [];
  for (let i = n - 1; i >= 0; i--) bytes.push(Number((value >> BigInt(i * 8)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

/** Canonical text of an address ("010.1.1.1" is refused earlier; IPv6 is compressed). */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip ? formatIp(ip.family, ip.value) : undefined;
}

export function sameIp(a: unknown, b: unknown): boolean {
  const x = parseIp(a);
  const y = parseIp(b);
  return !!x && !!y && x.family === y.family && x.value === y.value;
}

/**
 * Addresses HNS never hands out or accepts for an endpoint in a subnet: the network address, the IPv4
 * broadcast address (for prefixes shorter than /31) and the gateway unless the subnet says not to reserve it.
 */
export function isReserved(c: Cidr, ip: Ip, gateway?: Ip): boolean {
  if (ip.value === networkAddress(c) && !(c.family === 4 && c.prefix >= 31) && !(c.family === 6 && c.prefix >= 127)) return true;
  if (c.family === 4 && c.prefix < 31 && ip.value === lastAddress(c)) return true;
  return !!gateway && gateway.family === ip.family && gateway.value === ip.value;
}

/** First address of `c` that is neither reserved nor in `used`; undefined when the subnet is full. */
export function nextFree(c: Cidr, used: Set<bigint>, gateway?: Ip): bigint | undefined {
  const first = networkAddress(c);
  const last = lastAddress(c);
  // Bounded scan: an IPv6 /64 is never exhausted by endpoints, so this stops at the first hole.
  for (let v = first; v <= last; v++) {
    const ip: Ip = { family: c.family, value: v };
    if (isReserved(c, ip, gateway)) continue;
    if (!used.has(v)) return v;
    if (v - first > 1_000_000n) return undefined;
  }
  return undefined;
}

const MAC_RE = /^[0-9a-f]{2}([-:])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

export function isMac(text: unknown): boolean {
  return typeof text === 'string' && MAC_RE.test(text);
}

/** MACs compare by value: "00-15-5D-01-02-03" equals "00:15:5d:01:02:03". */
export function macKey(text: string): string {
  return text.replace(/[-:]/g, '').toLowerCase();
}
