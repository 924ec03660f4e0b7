/**
 * host-local's IPAM configuration (plugins/ipam/host-local/backend/allocator/config.go), read from the
 * full network config the plugin received, plus requested addresses from CNI_ARGS `IP=`,
 * `args.cni.ips` and `runtimeConfig.ips`. Range sets are built in the reference's order: runtime
 * `ipRanges`, then the legacy top-level range under `ipam`, then `ipam.ranges`; their index is the N of
 * `last_reserved_ip.N`.
 */
import { CniError, ErrCode } from '../protocol/errors';
import {
  bits,
  contains,
  formatCidr as formatCIDR,
  formatIp as formatIP,
  lastOf,
  networkOf,
  nextIp as nextIP,
  parseCidrGo as parseCIDR,
  parseIpGo as parseIP,
  prevIp as prevIP,
  sameIp as sameIP,
  cmpIp as cmpIP,
  type IP,
  type IPNet,
} from '../../net/ip';

export interface Range {
  subnet: IPNet;
  rangeStart: IP;
  rangeEnd: IP;
  gateway: IP;
}
export type RangeSet = Range[];

export interface IpamRoute {
  dst: string;
  gw?: string;
}

export interface IpamConfig {
  /** The network name (top-level `name`): the store directory under dataDir. */
  name: string;
  cniVersion: string;
  type: string;
  routes: IpamRoute[];
  dataDir: string;
  resolvConf: string;
  ranges: RangeSet[];
  requestedIPs: IP[];
}

/** host-local's own config refusals: plain errors (code 999), with host-local's messages. */
export class IpamConfigError extends Error {}

/**
 * Refusals host-local is too lax to make (a wrong type silently ignored): CNI code 7 (invalid network
 * config), naming the field, not echoing its value.
 */
export class IpamFieldError extends CniError {
  constructor(message: string) {
    super(ErrCode.InvalidNetworkConfig, message);
  }
}

function optionalString(v: unknown, field: string, max = 4096): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new IpamFieldError(`${field} must be a string`);
  if (v.length > max || v.includes('\0')) throw new IpamFieldError(`${field} must be a path of at most ${max} characters`);
  return v;
}

export function defaultDataDir(): string {
  return '/var/lib/cni/networks';
}

function ipField(v: unknown, what: string): IP | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string')
    throw new IpamConfigError(
      `json: cannot unmarshal ${typeof v === 'number' ? 'number' : typeof v} into Go struct field Range.${what} of type net.IP`,
    );
  const ip = parseIP(v);
  // host-local echoes the value; the error JSON is logged, so only the field is named (docs/reliability.md).
  if (!ip) throw new IpamConfigError(`invalid IP address in ${what}`);
  return ip;
}

function rawRange(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new IpamConfigError('json: cannot unmarshal into Go value of type allocator.Range: a range must be an object');
  return v as Record<string, unknown>;
}

/** Range.Canonicalize. */
function canonicalRange(r: Record<string, unknown>): Range {
  if (typeof r.subnet !== 'string') throw new IpamConfigError('invalid CIDR address in subnet');
  if (r.subnet !== r.subnet.trim()) throw new IpamFieldError('subnet: invalid CIDR address (surrounding spaces)');
  const cidr = parseCIDR(r.subnet);
  if (!cidr) throw new IpamConfigError('invalid CIDR address in subnet');
  const subnet: IPNet = { ip: cidr.ip, prefix: cidr.prefix };
  const size = bits(subnet.ip);
  if (subnet.prefix > size - 2)
    throw new IpamConfigError(`Network ${formatCIDR(networkOf(subnet.ip, subnet.prefix), subnet.prefix)} too small to allocate from`);
  const net = networkOf(subnet.ip, subnet.prefix);
  if (!sameIP(net, subnet.ip)) {
    throw new IpamConfigError(
      `Network has host bits set. For a subnet mask of length ${subnet.prefix} the network address is ${formatIP(net)}`,
    );
  }
  const fam = (ip: IP | undefined, key: string): IP | undefined => {
    if (ip && ip.v !== subnet.ip.v)
      throw new IpamConfigError(`${key} ${formatIP(ip)} not in network ${formatCIDR(subnet.ip, subnet.prefix)}`);
    return ip;
  };
  const gateway = fam(ipField(r.gateway, 'gateway'), 'gateway') ?? nextIP(subnet.ip);
  let rangeStart = fam(ipField(r.rangeStart, 'rangeStart'), 'RangeStart');
  if (rangeStart) {
    if (!contains(subnet, rangeStart))
      throw new IpamConfigError(`RangeStart ${formatIP(rangeStart)} not in network ${formatCIDR(subnet.ip, subnet.prefix)}`);
  } else rangeStart = nextIP(subnet.ip);
  let rangeEnd = fam(ipField(r.rangeEnd, 'rangeEnd'), 'RangeEnd');
  if (rangeEnd) {
    if (!contains(subnet, rangeEnd))
      throw new IpamConfigError(`RangeEnd ${formatIP(rangeEnd)} not in network ${formatCIDR(subnet.ip, subnet.prefix)}`);
  } else {
    const last = lastOf(subnet);
    rangeEnd = subnet.ip.v === 4 ? prevIP(last) : last;
  }
  return { subnet, rangeStart, rangeEnd, gateway };
}

function canonicalSet(v: unknown): RangeSet {
  if (!Array.isArray(v))
    throw new IpamConfigError('json: cannot unmarshal into Go value of type allocator.RangeSet: a range set must be an array of ranges');
  if (v.length === 0) throw new IpamConfigError('empty range set');
  const set = v.map((r) => canonicalRange(rawRange(r)));
  for (let i = 1; i < set.length; i++) if (set[i].subnet.ip.v !== set[0].subnet.ip.v) throw new IpamConfigError('mixed address families');
  for (let i = 0; i < set.length; i++) {
    for (let j = i + 1; j < set.length; j++) {
      if (rangesOverlap(set[i], set[j])) {
        throw new IpamConfigError(
          `subnets ${formatCIDR(set[i].subnet.ip, set[i].subnet.prefix)} and ${formatCIDR(set[j].subnet.ip, set[j].subnet.prefix)} overlap`,
        );
      }
    }
  }
  return set;
}

function rangesOverlap(a: Range, b: Range): boolean {
  return a.subnet.ip.v === b.subnet.ip.v && cmpIP(a.rangeStart, b.rangeEnd) <= 0 && cmpIP(b.rangeStart, a.rangeEnd) <= 0;
}

export function rangeSetContains(set: RangeSet, ip: IP): Range | undefined {
  return set.find((r) => r.subnet.ip.v === ip.v && cmpIP(ip, r.rangeStart) >= 0 && cmpIP(ip, r.rangeEnd) <= 0);
}

export function rangeSetString(set: RangeSet): string {
  return set.map((r) => `${formatIP(r.rangeStart)}-${formatIP(r.rangeEnd)}`).join(',');
}

function parseIpList(list: unknown, where: string): IP[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new IpamConfigError(`${where} must be a list of addresses`);
  return list.map((x, i) => {
    const s = typeof x === 'string' ? x.split('/')[0] : '';
    const ip = parseIP(s);
    if (!ip) throw new IpamConfigError(`invalid IP address in ${where}[${i}]`);
    return ip;
  });
}

/** CNI_ARGS `K=V;K2=V2` → requested IP (host-local's IPAMEnvArgs, IgnoreUnknown-tolerant). */
function envArgIPs(cniArgs: string): IP[] {
  if (!cniArgs) return [];
  const out: IP[] = [];
  // CNI_ARGS carries whatever the runtime passes (pod names, tokens): messages name the pair, not its text.
  const pairs = cniArgs.split(';');
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i];
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new IpamConfigError(`ARGS: invalid pair ${i + 1} of CNI_ARGS (not KEY=VALUE)`);
    const k = pair.slice(0, eq);
    const v = pair.slice(eq + 1);
    if (k === 'IP') {
      const ip = parseIP(v);
      if (!ip) throw new IpamConfigError(`ARGS: error parsing value of pair IP (pair ${i + 1} of CNI_ARGS): invalid IP address`);
      out.push(ip);
    }
  }
  return out;
}

/** allocator.LoadIPAMConfig on the plain config object. */
export function loadIpamConfig(conf: Record<string, unknown>, cniArgs: string): IpamConfig {
  const ipam = conf.ipam as Record<string, unknown> | undefined | null;
  if (!ipam || typeof ipam !== 'object') throw new IpamConfigError("IPAM config missing 'ipam' key");
  const rc = (conf.runtimeConfig ?? {}) as Record<string, unknown>;
  const args = (conf.args ?? {}) as Record<string, unknown>;
  const requested = [
    ...envArgIPs(cniArgs),
    ...parseIpList((args.cni as Record<string, unknown> | undefined)?.ips, 'args.cni.ips'),
    ...parseIpList(rc.ips, 'runtimeConfig.ips'),
  ];
  const ranges: RangeSet[] = [];
  const sets: unknown[] = [];
  if (Array.isArray(rc.ipRanges)) sets.push(...rc.ipRanges);
  if (typeof ipam.subnet === 'string' && ipam.subnet !== '')
    sets.push([{ subnet: ipam.subnet, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway }]);
  if (ipam.ranges !== undefined && ipam.ranges !== null) {
    if (!Array.isArray(ipam.ranges))
      throw new IpamConfigError(
        'json: cannot unmarshal into Go struct field IPAMConfig.ipam.ranges of type []allocator.RangeSet: "ranges" must be a list of range sets',
      );
    sets.push(...ipam.ranges);
  }
  sets.forEach((s, i) => {
    try {
      ranges.push(canonicalSet(s));
    } catch (e) {
      if (e instanceof IpamFieldError) throw new IpamFieldError(`invalid range set ${i}: ${e.msg}`);
      throw new IpamConfigError(`invalid range set ${i}: ${(e as Error).message}`);
    }
  });
  if (ranges.length === 0) throw new IpamConfigError('no IP ranges specified');
  const cniVersion = typeof conf.cniVersion === 'string' ? conf.cniVersion : '';
  const v4 = ranges.filter((s) => s[0].subnet.ip.v === 4).length;
  const v6 = ranges.length - v4;
  if ((v4 > 1 || v6 > 1) && ['', '0.1.0', '0.2.0'].includes(cniVersion)) {
    throw new IpamConfigError(`CNI version ${cniVersion} does not support more than 1 address per family`);
  }
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (ranges[i].some((a) => ranges[j].some((b) => rangesOverlap(a, b)))) throw new IpamConfigError(`range set ${i} overlaps with ${j}`);
    }
  }
  for (const ip of requested) {
    if (!ranges.some((s) => rangeSetContains(s, ip))) throw new IpamConfigError(`requested IP ${formatIP(ip)} is not in any range`);
  }
  const routes: IpamRoute[] = [];
  if (ipam.routes !== undefined && ipam.routes !== null && !Array.isArray(ipam.routes)) {
    throw new IpamFieldError('ipam.routes must be a list of {"dst","gw"}');
  }
  const dataDir = optionalString(ipam.dataDir, 'ipam.dataDir');
  const resolvConf = optionalString(ipam.resolvConf, 'ipam.resolvConf');
  if (Array.isArray(ipam.routes)) {
    for (const [i, r] of (ipam.routes as Record<string, unknown>[]).entries()) {
      if (!r || typeof r.dst !== 'string' || !parseCIDR(r.dst)) throw new IpamConfigError(`invalid CIDR address in ipam.routes[${i}].dst`);
      if (r.gw !== undefined && r.gw !== null && r.gw !== '' && (typeof r.gw !== 'string' || !parseIP(r.gw)))
        throw new IpamFieldError(`ipam.routes[${i}].gw must be an IP address`);
      routes.push(typeof r.gw === 'string' && r.gw ? { dst: r.dst, gw: r.gw } : { dst: r.dst });
    }
  }
  return {
    name: typeof conf.name === 'string' ? conf.name : '',
    cniVersion,
    type: typeof ipam.type === 'string' ? ipam.type : '',
    routes,
    dataDir: dataDir ? dataDir : defaultDataDir(),
    resolvConf: resolvConf ?? '',
    ranges,
    requestedIPs: requested,
  };
}
