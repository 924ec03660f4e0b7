/**
 * The endpoint policy list as the reference builds it (pkg/hns/netconf_windows.go): config `policies`
 * first, then the helpers append `{"name":"EndpointPolicy","value":…}` entries unless an equal one is
 * already there (exact, case-sensitive key lookups, exact string membership). Only entries named
 * EndpointPolicy (any case) reach HNS; v1 values go verbatim, v2 values are decoded as {Type, Settings}.
 */
import type { PortMapEntry, Policy } from '../../config/netconf';

type Api = 1 | 2;
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const strIn = (arr: unknown, s: string): boolean => Array.isArray(arr) && arr.some((x) => x === s);

function findPolicy(policies: Policy[], pred: (v: Obj) => boolean): boolean {
  return policies.some((p) => isObj(p.value) && typeof p.value.Type === 'string' && p.value.Type !== '' && pred(p.value));
}

const push = (policies: Policy[], value: Obj) => policies.push({ name: 'EndpointPolicy', value });

export function applyOutboundNat(policies: Policy[], api: Api, cidr: string): void {
  if (!cidr) return;
  const exists = findPolicy(
    policies,
    (v) => v.Type === 'OutBoundNAT' && (api === 2 ? isObj(v.Settings) && strIn(v.Settings.Exceptions, cidr) : strIn(v.ExceptionList, cidr)),
  );
  if (exists) return;
  push(policies, api === 2 ? { Type: 'OutBoundNAT', Settings: { Exceptions: [cidr] } } : { Type: 'OutBoundNAT', ExceptionList: [cidr] });
}

/** Caller checks the DSR gate (HNS version) first. */
export function applyLoopbackDsr(policies: Policy[], api: Api, ip: string): void {
  if (!ip) return;
  const exists = findPolicy(
    policies,
    (v) => v.Type === 'OutBoundNAT' && (api === 2 ? isObj(v.Settings) && strIn(v.Settings.Destinations, ip) : strIn(v.Destinations, ip)),
  );
  if (exists) return;
  push(policies, api === 2 ? { Type: 'OutBoundNAT', Settings: { Destinations: [ip] } } : { Type: 'OutBoundNAT', Destinations: [ip] });
}

export function applyDefaultPA(policies: Policy[], api: Api, addr: string): void {
  if (!addr) return;
  const exists = findPolicy(
    policies,
    (v) =>
      (v.Type === 'PA' || v.Type === 'ProviderAddress') &&
      (api === 2 ? isObj(v.Settings) && v.Settings.ProviderAddress === addr : v.PA === addr),
  );
  if (exists) return;
  push(policies, api === 2 ? { Type: 'ProviderAddress', Settings: { ProviderAddress: addr } } : { Type: 'PA', PA: addr });
}

const PROTOCOLS: Record<string, number> = { icmpv4: 1, igmp: 2, tcp: 6, udp: 17, icmpv6: 58 };

/** PortMapEntry.GetProtocolEnum: Go base-0 unsigned ≤ 10 bits, else a known name; undefined = skip. */
export function protocolEnum(protocol: string): number | undefined {
  const m = /^(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]*|[1-9][0-9_]*)$/.exec(protocol);
  if (m) {
    const s = protocol.replace(/_/g, '');
    let n: number;
    if (/^0[xX]/.test(s)) n = parseInt(s.slice(2), 16);
    else if (/^0[bB]/.test(s)) n = parseInt(s.slice(2), 2);
    else if (/^0[oO]/.test(s)) n = parseInt(s.slice(2), 8);
    else if (/^0/.test(s) && s.length > 1) n = parseInt(s.slice(1), 8);
    else n = parseInt(s, 10);
    if (Number.isFinite(n) && n <= 1023) return n;
    return undefined;
  }
  return PROTOCOLS[protocol.toLowerCase()];
}

export function applyPortMappings(policies: Policy[], api: Api, mappings: PortMapEntry[]): void {
  for (const pm of mappings) {
    const proto = protocolEnum(pm.protocol);
    if (proto === undefined) continue;
    if (api === 2) {
      push(policies, {
        Type: 'PortMapping',
        Settings: { InternalPort: pm.containerPort, ExternalPort: pm.hostPort, Protocol: proto, VIP: pm.hostIP ?? '' },
      });
    } else {
      push(policies, { Type: 'NAT', InternalPort: pm.containerPort, ExternalPort: pm.hostPort, Protocol: pm.protocol });
    }
  }
}

const isEndpointPolicy = (p: Policy) => p.name.toLowerCase() === 'endpointpolicy';

/** GetHNSEndpointPolicies: the raw values of EndpointPolicy entries. */
export function hnsEndpointPolicies(policies: Policy[]): unknown[] {
  return policies.filter(isEndpointPolicy).map((p) => p.value);
}

/**
 * GetHostComputeEndpointPolicies: each value decoded as hcn.EndpointPolicy (keys matched ignoring case;
 * undecodable entries skipped; only Type and Settings survive).
 */
export function hcnEndpointPolicies(policies: Policy[]): { Type: string; Settings?: unknown }[] {
  const out: { Type: string; Settings?: unknown }[] = [];
  for (const p of policies.filter(isEndpointPolicy)) {
    const v = p.value;
    if (v === null) {
      out.push({ Type: '' });
      continue;
    }
    if (!isObj(v)) continue;
    let type: unknown = '';
    let settings: unknown;
    for (const [k, x] of Object.entries(v)) {
      if (k.toLowerCase() === 'type') type = x;
      else if (k.toLowerCase() === 'settings') settings = x;
    }
    if (type !== null && typeof type !== 'string') continue;
    const pol: { Type: string; Settings?: unknown } = { Type: (type as string | null) ?? '' };
    if (settings !== undefined && settings !== null) pol.Settings = settings;
    out.push(pol);
  }
  return out;
}
