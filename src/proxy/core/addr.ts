/** The little address math the proxy core needs (IPv4 only, like the load balancers it programs), over src/net. */
import { cidrContains, cmpIp, isIpv4, parseIp } from '../../net/ip';
import { macFromIpv4 } from '../../net/mac';

export function isIPv4(text: string | undefined): text is string {
  return typeof text === 'string' && isIpv4(text);
}

/** True when `ip` lies inside the IPv4 `prefix` ("10.244.2.0/24"); false for anything unparsable. */
export function prefixContains(prefix: string, ip: string): boolean {
  return isIPv4(ip) && cidrContains(prefix, ip);
}

/** kube-proxy's remote-endpoint MAC: `02-11-` + the four address octets in hex ("02-11-0a-f4-01-07"). */
export function conjureMac(ip: string): string {
  const mac = macFromIpv4('02-11', ip);
  if (!mac) throw new Error(`"${ip}" is not an IPv4 address`);
  return mac;
}

/** Orders IPv4 addresses numerically, so documents list backends in a stable order. */
export function compareIPv4(a: string, b: string): number {
  const x = parseIp(a);
  const y = parseIp(b);
  if (!x || !y) throw new Error(`"${x ? b : a}" is not an IPv4 address`);
  return cmpIp(x, y);
}
