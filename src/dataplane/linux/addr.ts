/**
 * The linux plane's IPv4 prefixes: src/net's IPNet and arithmetic, parsed here only to name the document
 * field in the error (bad input) and to refuse IPv6, which this plane does not realize.
 */
import { isIpv4, networkOf, parseCidr, splitCidr, type IPNet } from '../../net/ip';

/** A malformed address or prefix in a document (bad input, named by field). */
export class AddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

export function isIPv4(s: string | undefined): s is string {
  return typeof s === 'string' && isIpv4(s);
}

/** Parses "10.244.1.0/24" with host bits cleared; throws naming `field` when it is not an IPv4 prefix. */
export function parseV4Prefix(text: string, field: string): IPNet {
  const net = parseCidr(text);
  if (!net) {
    if (splitCidr(text)?.ip.v === 6) throw new AddressError(`${field}: "${text}" is IPv6; the linux data plane realizes IPv4 subnets`);
    throw new AddressError(`${field}: "${text}" is not a prefix like 10.244.1.0/24`);
  }
  if (net.ip.v !== 4) throw new AddressError(`${field}: "${text}" is IPv6; the linux data plane realizes IPv4 subnets`);
  return { ip: networkOf(net.ip, net.prefix), prefix: net.prefix };
}
