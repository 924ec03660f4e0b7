/**
 * How a desired HCN document is compared with what a data plane reports. HNS adds fields of its own (IDs,
 * ProviderAddress/DrMacAddress policies, MACs) and spells values its own way (dashed MACs, braced GUIDs,
 * shortened IPv6), so "live holds desired" is the test, never equality.
 */
import { isGuid as guidGuard, isIp as ipGuard, isMac as macGuard } from '../hns/validate';
import { getCI } from '../hns/json';
import { canonicalIp as canonicalIpText } from '../net/ip';
import { sameGuid } from '../net/id';
import { sameMac, toHnsMac } from '../net/mac';

// Plain predicates: the validators' type guards would narrow a string to `never` on the false branch.
const isGuid = (s: string): boolean => guidGuard(s);
const isMac = (s: string): boolean => macGuard(s);
const isIp = (s: string): boolean => ipGuard(s);

/** Fields HNS owns or changes by itself; a document that gives them never conflicts on them. */
export const IGNORED_KEYS = new Set(['SchemaVersion', 'Version', 'Health', 'State']);

/** The canonical spelling of an address the validator accepted (IPv6 compressed, as HNS reports it). */
const canonicalIp = (text: string): string => canonicalIpText(text) ?? text;

export function sameString(a: string, b: string): boolean {
  if (a === b) return true;
  if (isGuid(a) && isGuid(b)) return sameGuid(a, b);
  if (isMac(a) && isMac(b)) return sameMac(a, b);
  if (isIp(a) && isIp(b)) return canonicalIp(a) === canonicalIp(b);
  return false;
}

const isPrimitive = (v: unknown) => v === null || typeof v !== 'object';

/** Does `have` (from HNS) hold everything `want` (desired) says? */
export function holds(want: unknown, have: unknown): boolean {
  if (want === undefined) return true;
  if (typeof want === 'string') return typeof have === 'string' && sameString(want, have);
  if (typeof want === 'number' || typeof want === 'bigint') {
    if (typeof have !== 'number' && typeof have !== 'bigint') return false;
    return Number.isInteger(Number(want)) && Number.isInteger(Number(have)) ? BigInt(want) === BigInt(have) : Number(want) === Number(have);
  }
  if (typeof want === 'boolean' || want === null) return want === have;
  if (Array.isArray(want)) {
    if (!Array.isArray(have)) return want.length === 0 && have === undefined;
    // Lists of values (VIPs, endpoint IDs, DNS servers) are sets; lists of objects (policies, subnets) may
    // hold more than desired, because HNS adds its own.
    if (want.every(isPrimitive) && have.every(isPrimitive)) {
      return (
        want.length === have.length && want.every((w) => have.some((h) => holds(w, h))) && have.every((h) => want.some((w) => holds(w, h)))
      );
    }
    return want.every((w) => have.some((h) => holds(w, h)));
  }
  if (typeof want === 'object') {
    if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
    return Object.entries(want as Record<string, unknown>).every(
      ([k, v]) => IGNORED_KEYS.has(k) || holds(v, (have as Record<string, unknown>)[k]),
    );
  }
  return false;
}

/** Top-level fields of `want` that `have` does not hold (skipping `skip`). */
export function differingFields(want: object, have: object, skip: readonly string[] = []): string[] {
  const w = want as Record<string, unknown>;
  const h = have as Record<string, unknown>;
  return Object.keys(w).filter((k) => !IGNORED_KEYS.has(k) && !skip.includes(k) && !holds(w[k], h[k]));
}

/**
 * Which settings say *which* policy this is, per type (the rest is its value). Two policies with the same
 * identity and different values are one policy that drifted: the old one is removed, the new one added.
 * Types not listed are identified by all their settings.
 */
const POLICY_KEYS: Record<string, readonly string[]> = {
  remotesubnetroute: ['DestinationPrefix'],
  sdnroute: ['DestinationPrefix'],
  hostroute: [],
  vxlanport: [],
  provideraddress: [],
  drmacaddress: [],
  netadaptername: [],
  automaticdns: [],
  portmapping: ['Protocol', 'ExternalPort', 'VIP'],
  acl: ['Id'],
  setpolicy: ['Id'],
};

export interface PolicyLike {
  Type?: unknown;
  Settings?: unknown;
}

function canonicalValue(v: unknown): string {
  if (typeof v === 'string') {
    const t: string = v;
    if (isGuid(t)) return t.replace(/[{}]/g, '').toLowerCase();
    if (isMac(t)) return toHnsMac(t).toLowerCase();
    if (isIp(t)) return canonicalIp(t);
    const [ip, len] = t.split('/');
    if (len !== undefined && isIp(ip)) return `${canonicalIp(ip)}/${len}`;
    return t;
  }
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'undefined';
  if (Array.isArray(v)) return `[${v.map(canonicalValue).join(',')}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${k.toLowerCase()}:${canonicalValue((v as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

/** "RemoteSubnetRoute 10.244.3.0/24", "HostRoute", "OutBoundNAT {...}": stable across spellings. */
export function policyIdentity(p: PolicyLike): string {
  const type = String(p.Type ?? '').toLowerCase();
  const keys = POLICY_KEYS[type];
  const settings = (p.Settings ?? {}) as Record<string, unknown>;
  const acl = type === 'acl' && getCI(settings, 'Id') === undefined; // an ACL without an Id is identified by all of it
  if (keys && !acl) return [type, ...keys.map((k) => canonicalValue(getCI(settings, k)))].join(' ');
  return `${type} ${canonicalValue(settings)}`;
}

/** For logs and plan reasons: `RemoteSubnetRoute 10.244.3.0/24`. */
export function describePolicy(p: PolicyLike): string {
  const type = String(p.Type ?? '?');
  const keys = POLICY_KEYS[type.toLowerCase()];
  const settings = (p.Settings ?? {}) as Record<string, unknown>;
  if (keys && keys.length > 0) {
    const vals = keys.map((k) => getCI(settings, k)).filter((v) => v !== undefined);
    if (vals.length > 0) return `${type} ${vals.join(' ')}`;
  }
  return type;
}
