/**
 * CNI results. Internally every result is the 1.1.0 shape; `formatResult` converts and prints it for the
 * config's cniVersion the way the reference library does (types/100, types/040, types/020 + PrintResult):
 * - 1.0.0/1.1.0: keys sorted alphabetically at every level, empty dns omitted, no ips[].version;
 * - 0.3.0/0.3.1/0.4.0: struct order, ips[].version from the address family, dns always present;
 * - 0.1.0/0.2.0 (and an empty version, printed as 0.1.0): ip4/ip6 (first address of each family, routes
 *   attached by family), dns always present;
 * always with a 4-space indent and no trailing newline.
 */
import { goMarshalIndent, sortKeysDeep } from './gojson-print';
import { resultFamily } from './versions';

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface CniIPConfig {
  /** Index into interfaces; absent in IPAM results and in the win-* results. */
  interface?: number;
  address: string;
  gateway?: string;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIPConfig[];
  routes?: CniRoute[];
  dns?: CniDNS;
}

export class ResultConversionError extends Error {}

const nonEmpty = <T>(a: T[] | undefined): a is T[] => Array.isArray(a) && a.length > 0;

function dnsOut(d: CniDNS | undefined): CniDNS {
  const out: CniDNS = {};
  if (!d) return out;
  if (nonEmpty(d.nameservers)) out.nameservers = d.nameservers;
  if (d.domain) out.domain = d.domain;
  if (nonEmpty(d.search)) out.search = d.search;
  if (nonEmpty(d.options)) out.options = d.options;
  return out;
}

export function isIPv4Cidr(addr: string): boolean {
  return !addr.includes(':');
}

function routeOut(r: CniRoute, v11: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = { dst: r.dst };
  if (r.gw) o.gw = r.gw;
  if (v11) {
    for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) if (r[k] !== undefined && r[k] !== 0) o[k] = r[k];
  }
  return o;
}

/** The object the reference prints for `version` (before indentation). */
export function resultForVersion(result: CniResult, version: string): Record<string, unknown> {
  const cniVersion = version === '' ? '0.1.0' : version;
  const family = resultFamily(cniVersion);
  if (family === '100') {
    const v11 = cniVersion !== '1.0.0';
    const o: Record<string, unknown> = { cniVersion };
    if (nonEmpty(result.interfaces)) {
      o.interfaces = result.interfaces.map((i) => {
        const x: Record<string, unknown> = { name: i.name };
        if (i.mac) x.mac = i.mac;
        if (v11 && i.mtu) x.mtu = i.mtu;
        if (i.sandbox) x.sandbox = i.sandbox;
        if (v11 && i.socketPath) x.socketPath = i.socketPath;
        if (v11 && i.pciID) x.pciID = i.pciID;
        return x;
      });
    }
    if (nonEmpty(result.ips)) {
      o.ips = result.ips.map((ip) => {
        const x: Record<string, unknown> = {};
        if (ip.interface !== undefined) x.interface = ip.interface;
        x.address = ip.address;
        if (ip.gateway) x.gateway = ip.gateway;
        return x;
      });
    }
    if (nonEmpty(result.routes)) o.routes = result.routes.map((r) => routeOut(r, v11));
    const dns = dnsOut(result.dns);
    if (Object.keys(dns).length > 0) o.dns = dns;
    return sortKeysDeep(o);
  }
  if (family === '040') {
    const o: Record<string, unknown> = { cniVersion };
    if (nonEmpty(result.interfaces)) {
      o.interfaces = result.interfaces.map((i) => {
        const x: Record<string, unknown> = { name: i.name };
        if (i.mac) x.mac = i.mac;
        if (i.sandbox) x.sandbox = i.sandbox;
        return x;
      });
    }
    if (nonEmpty(result.ips)) {
      o.ips = result.ips.map((ip) => {
        const x: Record<string, unknown> = { version: isIPv4Cidr(ip.address) ? '4' : '6' };
        if (ip.interface !== undefined) x.interface = ip.interface;
        x.address = ip.address;
        if (ip.gateway) x.gateway = ip.gateway;
        return x;
      });
    }
    if (nonEmpty(result.routes)) o.routes = result.routes.map((r) => routeOut(r, false));
    o.dns = dnsOut(result.dns);
    return o;
  }
  // 0.1.0 / 0.2.0
  const o: Record<string, unknown> = { cniVersion };
  let ip4: Record<string, unknown> | undefined;
  let ip6: Record<string, unknown> | undefined;
  for (const ip of result.ips ?? []) {
    const x: Record<string, unknown> = { ip: ip.address };
    if (ip.gateway) x.gateway = ip.gateway;
    if (isIPv4Cidr(ip.address)) ip4 ??= x;
    else ip6 ??= x;
  }
  if (!ip4 && !ip6) throw new ResultConversionError('cannot convert: no valid IP addresses');
  for (const r of result.routes ?? []) {
    const target = isIPv4Cidr(r.dst) ? ip4 : ip6;
    if (!target) continue;
    ((target.routes ??= []) as unknown[]).push(routeOut(r, false));
  }
  if (ip4) o.ip4 = ip4;
  if (ip6) o.ip6 = ip6;
  o.dns = dnsOut(result.dns);
  return o;
}

/** What `types.PrintResult(result, version)` writes to stdout. */
export function formatResult(result: CniResult, version: string): string {
  return goMarshalIndent(resultForVersion(result, version));
}

function strArr(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

function parseDns(v: unknown): CniDNS | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const d = v as Record<string, unknown>;
  const out: CniDNS = {};
  const ns = strArr(d.nameservers);
  if (ns) out.nameservers = ns;
  if (typeof d.domain === 'string') out.domain = d.domain;
  const s = strArr(d.search);
  if (s) out.search = s;
  const o = strArr(d.options);
  if (o) out.options = o;
  return out;
}

/**
 * Reads a result of any version (a delegate's stdout, a prevResult) into the 1.1.0 shape
 * (current.NewResultFromResult). `fallbackVersion` applies when the result has no cniVersion.
 */
export function parseResult(value: unknown, fallbackVersion: string): CniResult {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ResultConversionError('result is not a JSON object');
  const r = value as Record<string, unknown>;
  const cniVersion = typeof r.cniVersion === 'string' && r.cniVersion !== '' ? r.cniVersion : fallbackVersion;
  const out: CniResult = { cniVersion };
  if (resultFamily(cniVersion) === '020' || r.ip4 !== undefined || r.ip6 !== undefined) {
    const ips: CniIPConfig[] = [];
    const routes: CniRoute[] = [];
    for (const key of ['ip4', 'ip6']) {
      const x = r[key] as Record<string, unknown> | undefined;
      if (!x || typeof x.ip !== 'string') continue;
      ips.push(typeof x.gateway === 'string' ? { address: x.ip, gateway: x.gateway } : { address: x.ip });
      for (const rt of (Array.isArray(x.routes) ? x.routes : []) as Record<string, unknown>[]) {
        if (typeof rt?.dst === 'string') routes.push(typeof rt.gw === 'string' ? { dst: rt.dst, gw: rt.gw } : { dst: rt.dst });
      }
    }
    if (ips.length) out.ips = ips;
    if (routes.length) out.routes = routes;
  } else {
    if (Array.isArray(r.interfaces)) {
      out.interfaces = (r.interfaces as Record<string, unknown>[]).map((i) => {
        const x: CniInterface = { name: String(i?.name ?? '') };
        if (typeof i?.mac === 'string') x.mac = i.mac;
        if (typeof i?.mtu === 'number') x.mtu = i.mtu;
        if (typeof i?.sandbox === 'string') x.sandbox = i.sandbox;
        if (typeof i?.socketPath === 'string') x.socketPath = i.socketPath;
        if (typeof i?.pciID === 'string') x.pciID = i.pciID;
        return x;
      });
    }
    if (Array.isArray(r.ips)) {
      out.ips = (r.ips as Record<string, unknown>[])
        .filter((ip) => typeof ip?.address === 'string')
        .map((ip) => {
          const x: CniIPConfig = { address: ip.address as string };
          if (typeof ip.interface === 'number') x.interface = ip.interface;
          if (typeof ip.gateway === 'string') x.gateway = ip.gateway;
          return x;
        });
    }
    if (Array.isArray(r.routes)) {
      out.routes = (r.routes as Record<string, unknown>[])
        .filter((rt) => typeof rt?.dst === 'string')
        .map((rt) => {
          const x: CniRoute = { dst: rt.dst as string };
          if (typeof rt.gw === 'string') x.gw = rt.gw;
          for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) if (typeof rt[k] === 'number') x[k] = rt[k] as number;
          return x;
        });
    }
  }
  const dns = parseDns(r.dns);
  if (dns) out.dns = dns;
  return out;
}
