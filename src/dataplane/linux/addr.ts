/** The linux plane's IPv4 view of src/net/ip: subnets, gateways and allocation as numbers. */
import * as ipaddr from 'ipaddr.js';
import { formatIp, isIpv4, parseIp } from '../../net/ip';

/** A malformed address or prefix in a document (bad input, named by field). */
export class AddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

export interface Cidr {
  network: number;
  prefixLen: number;
  text: string;
}

export function ipToInt(ip: string): number {
  const a = parseIp(ip);
  if (!a || a.v !== 4) throw new AddressError(`"${ip}" is not an IPv4 address`);
  return Number(a.n);
}

export function intToIp(n: number): string {
  return formatIp({ v: 4, n: BigInt(n) });
}

export function isIPv4(s: string | undefined): s is string {
  return typeof s === 'string' && isIpv4(s);
}

/** Parses "10.244.1.0/24"; throws naming `field` when it is not an IPv4 prefix. */
export function parseCidr(text: string, field: string): Cidr {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(text);
  } catch {
    throw new AddressError(`${field}: "${text}" is not a prefix like 10.244.1.0/24`);
  }
  if (parsed[0].kind() !== 'ipv4') throw new AddressError(`${field}: "${text}" is IPv6; the linux data plane realizes IPv4 subnets`);
  const prefixLen = parsed[1];
  const size = 2 ** (32 - prefixLen);
  const network = Math.floor(ipToInt(parsed[0].toString()) / size) * size;
  return { network, prefixLen, text: `${intToIp(network)}/${prefixLen}` };
}

export function contains(c: Cidr, ip: string): boolean {
  const size = 2 ** (32 - c.prefixLen);
  const n = ipToInt(ip);
  return n >= c.network && n < c.network + size;
}

export function firstHost(c: Cidr): string {
  return intToIp(c.network + 1);
}

export function lastHost(c: Cidr): number {
  return c.network + 2 ** (32 - c.prefixLen) - 2;
}
