/**
 * Field validation of win-bridge, win-overlay and switchyard network configs beyond Go's type decoding
 * (netconf.ts): every value that ends up in an HNS document (DNS, OutBoundNAT exceptions, endpoint
 * policies, port mappings, MAC prefixes) must have the format HNS accepts, and every string a bounded
 * length, so a bad config is refused before anything is allocated or created (CNI code 7, the field named).
 *
 * Messages name the field and the expected format, never the value: the error JSON goes to the log
 * (SWITCHYARD_LOG_FILE) and runtimeConfig or policy strings can carry anything (issue 11, defect 7).
 */
import { normalizeKeys } from '../../hns/json';
import { policyDescriptor, policyDescriptorByV1Type, policyTypesOf } from '../../hns/policies';
import { Checker, isObj, type Rec } from '../../hns/policies/checker';
import { parseCidr, parseIp } from '../../net/ip';
import { CniError, ErrCode } from '../protocol/errors';
import type { BaseNetConf, DnsConf, Policy, SwitchyardConf, WinBridgeConf, WinOverlayConf } from './netconf';

/** Longest DNS name (RFC 1035 §2.3.4, presentation form without the trailing dot). */
export const DNS_NAME_MAX = 253;
/** Longest string accepted anywhere in an endpoint policy, and longest DNS option. */
export const POLICY_STRING_MAX = 1024;
/** Most entries in any list that reaches an HNS document (DNS lists, exceptions, policies, port mappings). */
export const LIST_MAX = 256;

export interface FieldIssue {
  field: string;
  /** What the field must be, e.g. `must be an IP address`; never the value. */
  expected: string;
}

const DNS_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** A DNS name as resolvers and HNS's DNSSuffix accept it: labels of letters, digits, `-`, `_`; one trailing dot allowed. */
export function isDnsName(s: unknown): boolean {
  if (typeof s !== 'string' || s === '') return false;
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  if (name === '' || name.length > DNS_NAME_MAX) return false;
  return name.split('.').every((l) => DNS_LABEL.test(l));
}

/** A resolv.conf option (`ndots:5`, `edns0`, `timeout:1`, `single-request-reopen`). */
export const isDnsOption = (s: unknown): boolean => typeof s === 'string' && /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,254}$/.test(s);

export const isIpOrCidr = (s: unknown): boolean => parseIp(s) !== undefined || parseCidr(s) !== undefined;

/** `xx-xx`, two hex bytes: the first two bytes of the endpoint MACs win-overlay derives. */
export const isMacPrefix = (s: string): boolean => /^[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}$/.test(s);

/** A plugin name delegated to from CNI_PATH: a file name, never a path. */
export const isPluginName = (s: string): boolean => /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(s);

class Issues {
  readonly list: FieldIssue[] = [];
  add(field: string, expected: string): void {
    this.list.push({ field, expected });
  }
  each(field: string, v: unknown[] | undefined, ok: (x: unknown) => boolean, expected: string): void {
    if (!v) return;
    if (v.length > LIST_MAX) return this.add(field, `must have at most ${LIST_MAX} entries`);
    v.forEach((x, i) => {
      if (!ok(x)) this.add(`${field}[${i}]`, expected);
    });
  }
}

/**
 * The Checker's message without the value: "<value> is not a valid IP address (e.g. …)" → "is not a
 * valid IP address (e.g. …)", "must be a string, got the string …" → "must be a string". Whatever else a
 * descriptor says is reduced to "is not valid".
 */
export function valueFree(message: string): string {
  if (message.startsWith('must ') || message.startsWith('is missing')) {
    const cut = message.search(/, (got|but it is missing)/);
    return cut > 0 ? message.slice(0, cut) : message;
  }
  for (const marker of [' is not ', ' are not ']) {
    const at = message.lastIndexOf(marker);
    if (at >= 0) return (marker === ' are not ' ? 'has entries that are not ' : 'is not ') + message.slice(at + marker.length);
  }
  return 'is not valid';
}

function longString(v: unknown, depth = 0): boolean {
  if (typeof v === 'string') return v.length > POLICY_STRING_MAX;
  if (depth > 64 || v === null || typeof v !== 'object') return false;
  const items = Array.isArray(v) ? v : Object.entries(v as Rec).flat();
  return items.some((x) => longString(x, depth + 1));
}

/**
 * One `policies` entry. Only EndpointPolicy entries (any case) reach HNS, so only those are checked: the
 * value's Type must be an HNS endpoint policy type (v1: its v1 Type, e.g. `ROUTE`, `NAT`, `PA`, or the v2
 * name) and its settings what the policy registry (src/hns/policies) says HNS accepts.
 */
function checkPolicy(out: Issues, field: string, p: Policy, api: number): void {
  if (p.name.length > POLICY_STRING_MAX) return out.add(`${field}.name`, `must be at most ${POLICY_STRING_MAX} characters`);
  if (p.name.toLowerCase() !== 'endpointpolicy') return;
  const vf = `${field}.value`;
  if (!isObj(p.value)) return out.add(vf, 'must be an object {"Type", …}');
  if (longString(p.value)) return out.add(vf, `must not hold strings longer than ${POLICY_STRING_MAX} characters`);
  const value = normalizeKeys(p.value, api === 2 ? 'v2' : 'v1') as Rec;
  const type = Object.entries(value).find(([k]) => k.toLowerCase() === 'type')?.[1];
  const known = policyTypesOf('endpoint');
  if (typeof type !== 'string') return out.add(`${vf}.Type`, `must be an HNS endpoint policy type (${known.join(', ')})`);
  let settings: unknown;
  let path: string;
  let d = api === 2 ? policyDescriptor('endpoint', type) : policyDescriptorByV1Type('endpoint', type);
  if (api !== 2 && !d) d = policyDescriptor('endpoint', type);
  if (!d) return out.add(`${vf}.Type`, `must be an HNS endpoint policy type (${known.join(', ')})`);
  if (api === 2) {
    settings = value.Settings === undefined ? {} : value.Settings;
    path = `${vf}.Settings`;
  } else {
    // v1 values are flat ({Type, ExceptionList, …}); the registry checks their v2 form.
    const v2 = d.v1?.toV2
      ? d.v1.toV2(value as never)
      : { Settings: Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'Type')) };
    settings = v2.Settings;
    path = `${vf} (as ${d.type} settings)`;
  }
  const c = new Checker();
  if (!c.object(path, settings)) return out.add(path, 'must be an object');
  d.check?.(c, path, settings);
  for (const i of c.issues) out.add(i.path, valueFree(i.message));
}

function checkDns(out: Issues, field: string, dns: DnsConf): void {
  out.each(`${field}.nameservers`, dns.nameservers, (x) => parseIp(x) !== undefined, 'must be an IP address');
  if (dns.domain !== undefined && dns.domain !== '' && !isDnsName(dns.domain))
    out.add(`${field}.domain`, `must be a DNS name (labels of letters, digits, "-", "_"; at most ${DNS_NAME_MAX} characters)`);
  out.each(`${field}.search`, dns.search, isDnsName, `must be a DNS name (at most ${DNS_NAME_MAX} characters)`);
  out.each(`${field}.options`, dns.options, isDnsOption, 'must be a resolver option such as "ndots:5" (at most 255 characters)');
}

/** `api`: the HNS API the policies are written for (switchyard: always v2; win-*: v2 when apiVersion is 2). */
function checkBase(out: Issues, n: BaseNetConf, api: number): void {
  if (n.ipam.type !== '' && !isPluginName(n.ipam.type))
    out.add('ipam.type', 'must be a plugin file name (letters, digits, ".", "_", "-"), not a path');
  checkDns(out, 'dns', n.dns);
  const rdns = n.runtimeConfig.dns;
  out.each('runtimeConfig.dns.servers', rdns.servers, (x) => parseIp(x) !== undefined, 'must be an IP address');
  out.each('runtimeConfig.dns.searches', rdns.searches, isDnsName, `must be a DNS name (at most ${DNS_NAME_MAX} characters)`);
  const pms = n.runtimeConfig.portMappings;
  if (pms.length > LIST_MAX) out.add('runtimeConfig.portMappings', `must have at most ${LIST_MAX} entries`);
  else
    pms.forEach((pm, i) => {
      const f = `runtimeConfig.portMappings[${i}]`;
      if (!(pm.containerPort >= 1 && pm.containerPort <= 65535)) out.add(`${f}.containerPort`, 'must be a port from 1 to 65535');
      if (!(pm.hostPort >= 0 && pm.hostPort <= 65535)) out.add(`${f}.hostPort`, 'must be a port from 0 to 65535');
      if (protocolNumberOf(pm.protocol) === undefined)
        out.add(`${f}.protocol`, 'must be tcp, udp, icmpv4, icmpv6, igmp or an IP protocol number (0-255)');
      if (pm.hostIP !== undefined && pm.hostIP !== '' && !parseIp(pm.hostIP)) out.add(`${f}.hostIP`, 'must be an IP address');
    });
  if (n.policies.length > LIST_MAX) out.add('policies', `must have at most ${LIST_MAX} entries`);
  else n.policies.forEach((p, i) => checkPolicy(out, `policies[${i}]`, p, api));
}

const PROTOCOLS: Record<string, number> = { icmpv4: 1, igmp: 2, tcp: 6, udp: 17, icmpv6: 58 };

/** What a port mapping's protocol means to HNS: a name it knows or a decimal IP protocol number. */
function protocolNumberOf(p: string): number | undefined {
  if (/^\d{1,3}$/.test(p)) return Number(p) <= 255 ? Number(p) : undefined;
  return PROTOCOLS[p.toLowerCase()];
}

const MAC_PREFIX = 'must be two hex bytes "xx-xx" (e.g. "0E-2A")';

export function winBridgeIssues(n: WinBridgeConf): FieldIssue[] {
  const out = new Issues();
  checkBase(out, n, n.apiVersion);
  if (n.ipMasqNetwork !== '' && !parseCidr(n.ipMasqNetwork)) out.add('ipMasqNetwork', 'must be a CIDR prefix (e.g. "10.244.0.0/16")');
  return out.list;
}

export function winOverlayIssues(n: WinOverlayConf): FieldIssue[] {
  const out = new Issues();
  checkBase(out, n, n.apiVersion);
  if (n.endpointMacPrefix !== '' && !isMacPrefix(n.endpointMacPrefix)) out.add('endpointMacPrefix', MAC_PREFIX);
  return out.list;
}

export function switchyardIssues(n: SwitchyardConf): FieldIssue[] {
  const out = new Issues();
  checkBase(out, n, 2);
  if (n.network.length > 256 || /[\p{Cc}]/u.test(n.network))
    out.add('network', 'must be an HNS network name of at most 256 characters without control characters');
  out.each('outboundNatExceptions', n.outboundNatExceptions, isIpOrCidr, 'must be an IP address or a CIDR prefix');
  if (n.endpointMacPrefix !== '' && !isMacPrefix(n.endpointMacPrefix)) out.add('endpointMacPrefix', MAC_PREFIX);
  return out.list;
}

/** Code 7 naming every bad field (the first few), or nothing. The network name passed skel's check. */
export function refuseIssues(network: string, issues: FieldIssue[]): void {
  if (issues.length === 0) return;
  const shown = issues.slice(0, 5).map((i) => `${i.field} ${i.expected}`);
  if (issues.length > 5) shown.push(`and ${issues.length - 5} more`);
  throw new CniError(
    ErrCode.InvalidNetworkConfig,
    `invalid network config field${issues.length > 1 ? 's' : ''} ${issues
      .slice(0, 5)
      .map((i) => JSON.stringify(i.field))
      .join(', ')} in network ${network}`,
    shown.join('; '),
  );
}
