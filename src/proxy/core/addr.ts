/** The little address math the proxy core needs (IPv4 only, like the load balancers it programs). */
import * as ipaddr from 'ipaddr.js';

export function isIPv4(text: string | undefined): text is string {
  return typeof text === 'string' && ipaddr.IPv4.isValidFourPartDecimal(text);
}

/** True when `ip` lies inside the IPv4 `prefix` ("10.244.2.0/24"); false for anything unparsable. */
export function prefixContains(prefix: string, ip: string): boolean {
  if (!isIPv4(ip)) return false;
  try {
    const [net, bits] = ipaddr.IPv4.parseCIDR(prefix);
    return ipaddr.IPv4.parse(ip).match(net, bits);
  } catch {
    return false;
  }
}

/** kube-proxy's remote-endpoint MAC: `02-11-` + the four address octets in hex ("02-11-0a-f4-01-07"). */
export function conjureMac(ip: string): string {
  return (
    '02-11-' +
    ipaddr.IPv4.parse(ip)
      .octets.map((o) => o.toString(16).padStart(2, '0'))
      .join('-')
  );
}

/** Orders IPv4 addresses numerically, so documents list backends in a stable order. */
export function compareIPv4(a: string, b: string): number {
  const x = ipaddr.IPv4.parse(a).octets;
  const y = ipaddr.IPv4.parse(b).octets;
  for (let i = 0; i < 4; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}
