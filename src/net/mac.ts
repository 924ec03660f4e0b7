/**
 * MAC addresses in both spellings: HNS writes `00-15-5D-01-02-03` (dashes, upper case), the kernel and Go's
 * net.HardwareAddr `00:15:5d:01:02:03`. Either is accepted, never a mix; they compare by value.
 */
import { parseIp, type IP } from './ip';

const MAC_RE = /^[0-9a-f]{2}([-:])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

export function isMac(s: unknown): s is string {
  return typeof s === 'string' && MAC_RE.test(s);
}

/** The HNS form: dashes, upper case. */
export function toHnsMac(mac: string): string {
  return mac.replace(/:/g, '-').toUpperCase();
}

/** The kernel form: colons, lower case. */
export function toKernelMac(mac: string): string {
  return mac.replace(/-/g, ':').toLowerCase();
}

/** A value to compare MACs by: "00-15-5D-01-02-03" and "00:15:5d:01:02:03" give the same key. */
export function macKey(mac: string): string {
  return mac.replace(/[-:]/g, '').toLowerCase();
}

export function sameMac(a: unknown, b: unknown): boolean {
  return isMac(a) && isMac(b) && macKey(a) === macKey(b);
}

/**
 * A MAC made of a two-octet prefix and the four octets of an IPv4 address, as HNS, flannel and kube-proxy
 * derive them (`0E-2A` + 10.244.1.7 → `0E-2A-0a-f4-01-07`): the prefix as given, the octets in lower-case
 * hex, joined by `sep`. Undefined when `ipv4` is not a dotted quad.
 */
export function macFromIpv4(prefix: string, ipv4: string | IP, sep: '-' | ':' = '-'): string | undefined {
  const ip = typeof ipv4 === 'string' ? parseIp(ipv4) : ipv4;
  if (!ip || ip.v !== 4) return undefined;
  const n = Number(ip.n);
  return [prefix, ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0'))].join(sep);
}

/** Bytes as an HNS MAC (upper case, dashes), e.g. a random MAC under the Hyper-V OUI 00-15-5D. */
export function formatMac(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join('-');
}
