/**
 * Structural validation of HCN v2 documents and modify requests, before anything is sent to a data plane.
 * It catches what HNS would refuse with E_INVALIDARG / HCN_E_INVALID_* (or, worse, accept and misbehave on),
 * and says which field is wrong and how to fix it, e.g.
 *   Ipams[0].Subnets[0].IpAddressPrefix: "10.0.0.0/33" is not a valid CIDR prefix (e.g. "10.244.1.0/24")
 * Pure: no OS access; used by the CLI (so bad input changes no state) and available to data planes.
 */
import { cidrContains, ipFamily, isCidr, isIp } from '../net/ip';
import { isMac } from '../net/mac';
import { isGuid } from '../net/id';
import { NETWORK_TYPES } from './network';
import { NAMESPACE_TYPES } from './namespace';
import { NETWORK_POLICY_TYPES, ENDPOINT_POLICY_TYPES, SUBNET_POLICY_TYPES } from './policy';
import { REQUEST_TYPES } from './modify';
import { describeValue } from './parse';

export interface ValidationIssue {
  /** Field path inside the document, e.g. `Ipams[0].Subnets[0].IpAddressPrefix` ('' = the document). */
  path: string;
  message: string;
}

export function formatIssue(i: ValidationIssue): string {
  return i.path ? `${i.path}: ${i.message}` : i.message;
}

export class HcnValidationError extends Error {
  readonly issues: ValidationIssue[];
  constructor(what: string, issues: ValidationIssue[]) {
    super(`invalid ${what}:\n  ${issues.map(formatIssue).join('\n  ')}`);
    this.name = 'HcnValidationError';
    this.issues = issues;
  }
}

// ---- primitive checks (exported: the CLI reuses them for its flags) -------------------------------------

export { isIpv4, isIpv6, isIp, ipFamily, isCidr, cidrContains } from '../net/ip';
export { isMac } from '../net/mac';
export { isGuid } from '../net/id';

const EXAMPLE_CIDR = '"10.244.1.0/24"';
const EXAMPLE_IP = '"10.244.1.1"';
const EXAMPLE_MAC = '"00-15-5D-52-C0-00"';

type Rec = Record<string, unknown>;
const isObj = (v: unknown): v is Rec => v !== null && typeof v === 'object' && !Array.isArray(v);

class Checker {
  readonly issues: ValidationIssue[] = [];
  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }
  object(path: string, v: unknown): v is Rec {
    if (isObj(v)) return true;
    this.add(path, `must be an object, got ${describeValue(v)}`);
    return false;
  }
  array(path: string, v: unknown): v is unknown[] {
    if (Array.isArray(v)) return true;
    this.add(path, `must be an array, got ${describeValue(v)}`);
    return false;
  }
  string(path: string, v: unknown, nonEmpty = false): v is string {
    if (typeof v !== 'string') {
      this.add(path, v === undefined ? 'is missing: it must be a string' : `must be a string, got ${describeValue(v)}`);
      return false;
    }
    if (nonEmpty && v.trim() === '') {
      this.add(path, 'must not be empty');
      return false;
    }
    return true;
  }
  boolean(path: string, v: unknown): void {
    if (typeof v !== 'boolean') this.add(path, `must be true or false, got ${describeValue(v)}`);
  }
  integer(path: string, v: unknown, min: number, max: number | bigint): void {
    const ok = (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
    if (!ok || (v as number | bigint) < min || (v as number | bigint) > max) {
      this.add(path, `must be an integer from ${min} to ${max}, ${v === undefined ? 'but it is missing' : 'got ' + describeValue(v)}`);
    }
  }
  ip(path: string, v: unknown, allowEmpty = false): void {
    if (allowEmpty && v === '') return;
    if (!isIp(v)) this.add(path, `${describeValue(v).replace(/^the string /, '')} is not a valid IP address (e.g. ${EXAMPLE_IP})`);
  }
  cidr(path: string, v: unknown): void {
    if (!isCidr(v)) this.add(path, `${describeValue(v).replace(/^the string /, '')} is not a valid CIDR prefix (e.g. ${EXAMPLE_CIDR})`);
  }
  ipOrCidr(path: string, v: unknown): void {
    if (!isIp(v) && !isCidr(v)) this.add(path, `${describeValue(v).replace(/^the string /, '')} is not an IP address or CIDR prefix`);
  }
  mac(path: string, v: unknown): void {
    if (!isMac(v)) this.add(path, `${describeValue(v).replace(/^the string /, '')} is not a MAC address (e.g. ${EXAMPLE_MAC})`);
  }
  guid(path: string, v: unknown): void {
    if (!isGuid(v)) this.add(path, `${describeValue(v).replace(/^the string /, '')} is not a GUID (e.g. "9d1a6f6e-2c2b-4f3e-8a55-0c4e2f1a7b10")`);
  }
  oneOf(path: string, v: unknown, allowed: readonly string[]): void {
    if (v === undefined) {
      this.add(path, `is missing: use one of ${allowed.join(', ')}`);
    } else if (typeof v !== 'string' || !allowed.some((a) => a.toLowerCase() === v.toLowerCase())) {
      this.add(path, `${describeValue(v).replace(/^the string /, '')} is not one of ${allowed.join(', ')}`);
    }
  }
  /** Comma-separated lists as ACLs carry them ("80,8080", "10.0.0.0/8,10.0.0.21"). */
  commaList(path: string, v: unknown, each: (item: string) => boolean, what: string): void {
    if (!this.string(path, v)) return;
    if (v === '' || v === '*') return;
    const bad = v.split(',').map((x) => x.trim()).filter((x) => !each(x));
    if (bad.length > 0) this.add(path, `${bad.map((b) => JSON.stringify(b)).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not ${what}`);
  }
}

const UINT16 = 65535;
const UINT32 = 4294967295;
const UINT64 = 18446744073709551615n;
const isPort = (s: string) => /^\d{1,5}$/.test(s) && Number(s) <= UINT16;
const isPortOrRange = (s: string) => {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(s);
  return isPort(s) || (!!m && Number(m[1]) <= Number(m[2]) && Number(m[2]) <= UINT16);
};
const isProtocolNumber = (s: string) => /^\d{1,3}$/.test(s) && Number(s) <= 255;

function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

// ---- shared pieces ----------------------------------------------------------------------------------------

function checkBase(c: Checker, doc: Rec): void {
  if (doc.ID !== undefined) c.guid('ID', doc.ID);
  if (doc.Name !== undefined) c.string('Name', doc.Name, true);
  if (doc.SchemaVersion !== undefined && c.object('SchemaVersion', doc.SchemaVersion)) {
    const sv = doc.SchemaVersion;
    c.integer('SchemaVersion.Major', sv.Major, 1, UINT16);
    c.integer('SchemaVersion.Minor', sv.Minor, 0, UINT16);
  }
  if (doc.Flags !== undefined) c.integer('Flags', doc.Flags, 0, UINT32);
}

function checkRoutes(c: Checker, path: string, routes: unknown): void {
  if (!c.array(path, routes)) return;
  routes.forEach((r, i) => {
    const p = at(path, i);
    if (!c.object(p, r)) return;
    if (r.NextHop !== undefined) c.ip(at(p, 'NextHop'), r.NextHop);
    if (r.DestinationPrefix !== undefined) c.cidr(at(p, 'DestinationPrefix'), r.DestinationPrefix);
    if (r.Metric !== undefined) c.integer(at(p, 'Metric'), r.Metric, 0, UINT16);
  });
}

function checkDns(c: Checker, path: string, dns: unknown): void {
  if (!c.object(path, dns)) return;
  if (dns.Domain !== undefined) c.string(at(path, 'Domain'), dns.Domain);
  for (const key of ['Search', 'Options'] as const) {
    const list = dns[key];
    if (list !== undefined && c.array(at(path, key), list)) list.forEach((s, i) => c.string(at(at(path, key), i), s));
  }
  if (dns.ServerList !== undefined && c.array(at(path, 'ServerList'), dns.ServerList)) {
    dns.ServerList.forEach((s, i) => c.ip(at(at(path, 'ServerList'), i), s));
  }
}

function checkAcl(c: Checker, p: string, s: Rec, actions: readonly string[]): void {
  if (s.Id !== undefined) c.string(at(p, 'Id'), s.Id);
  if (s.Protocols !== undefined) c.commaList(at(p, 'Protocols'), s.Protocols, isProtocolNumber, 'IP protocol numbers (6 TCP, 17 UDP, 1 ICMPv4, 58 ICMPv6)');
  c.oneOf(at(p, 'Action'), s.Action, actions);
  c.oneOf(at(p, 'Direction'), s.Direction, ['In', 'Out']);
  for (const k of ['LocalAddresses', 'RemoteAddresses'] as const) {
    if (s[k] !== undefined) c.commaList(at(p, k), s[k], (x) => isIp(x) || isCidr(x), 'IP addresses or CIDR prefixes');
  }
  for (const k of ['LocalPorts', 'RemotePorts'] as const) {
    if (s[k] !== undefined) c.commaList(at(p, k), s[k], isPortOrRange, 'ports or port ranges (0-65535)');
  }
  if (s.RuleType !== undefined) c.oneOf(at(p, 'RuleType'), s.RuleType, ['Host', 'Switch']);
  if (s.Priority !== undefined) c.integer(at(p, 'Priority'), s.Priority, 0, UINT16);
}

function checkInterfaceConstraint(c: Checker, p: string, s: Rec): void {
  if (s.InterfaceGuid !== undefined) c.guid(at(p, 'InterfaceGuid'), s.InterfaceGuid);
  if (s.InterfaceLuid !== undefined) c.integer(at(p, 'InterfaceLuid'), s.InterfaceLuid, 0, UINT64);
  if (s.InterfaceIndex !== undefined) c.integer(at(p, 'InterfaceIndex'), s.InterfaceIndex, 0, UINT32);
  if (s.InterfaceMediaType !== undefined) c.integer(at(p, 'InterfaceMediaType'), s.InterfaceMediaType, 0, UINT32);
  if (s.InterfaceAlias !== undefined) c.string(at(p, 'InterfaceAlias'), s.InterfaceAlias);
  if (s.InterfaceDescription !== undefined) c.string(at(p, 'InterfaceDescription'), s.InterfaceDescription);
}

function checkL4Proxy(c: Checker, p: string, s: Rec): void {
  if (s.IP !== undefined && s.IP !== '') c.ip(at(p, 'IP'), s.IP);
  if (s.Port !== undefined) {
    const port = typeof s.Port === 'string' ? s.Port : String(s.Port);
    if (!isPort(port)) c.add(at(p, 'Port'), `${describeValue(s.Port)} is not a port (0-65535)`);
  }
  if (s.Protocol !== undefined) c.integer(at(p, 'Protocol'), s.Protocol, 0, 255);
  for (const k of ['ExceptionList', 'Exceptions'] as const) {
    if (s[k] !== undefined && c.array(at(p, k), s[k])) (s[k] as unknown[]).forEach((x, i) => c.ipOrCidr(at(at(p, k), i), x));
  }
  if (s.Destination !== undefined && s.Destination !== '') c.ipOrCidr(at(p, 'Destination'), s.Destination);
}

type SettingsCheck = (c: Checker, path: string, settings: Rec) => void;

const NETWORK_POLICY_CHECKS: Record<string, SettingsCheck> = {
  SourceMacAddress: (c, p, s) => c.mac(at(p, 'SourceMacAddress'), s.SourceMacAddress),
  NetAdapterName: (c, p, s) => void c.string(at(p, 'NetworkAdapterName'), s.NetworkAdapterName, true),
  InterfaceConstraint: checkInterfaceConstraint,
  VSwitchExtension: (c, p, s) => {
    c.guid(at(p, 'ExtensionID'), s.ExtensionID);
    if (s.Enable !== undefined) c.boolean(at(p, 'Enable'), s.Enable);
  },
  ProviderAddress: (c, p, s) => c.ip(at(p, 'ProviderAddress'), s.ProviderAddress),
  DrMacAddress: (c, p, s) => c.mac(at(p, 'Address'), s.Address),
  AutomaticDNS: (c, p, s) => {
    if (s.Enable !== undefined) c.boolean(at(p, 'Enable'), s.Enable);
  },
  RemoteSubnetRoute: (c, p, s) => {
    c.cidr(at(p, 'DestinationPrefix'), s.DestinationPrefix);
    c.integer(at(p, 'IsolationId'), s.IsolationId, 0, UINT32);
    c.ip(at(p, 'ProviderAddress'), s.ProviderAddress);
    c.mac(at(p, 'DistributedRouterMacAddress'), s.DistributedRouterMacAddress);
  },
  VxlanPort: (c, p, s) => c.integer(at(p, 'Port'), s.Port, 1, UINT16),
  HostRoute: (c, p, s) => {
    if (Object.keys(s).length > 0) c.add(p, 'HostRoute settings must be an empty object {}');
  },
  SetPolicy: (c, p, s) => {
    c.string(at(p, 'Id'), s.Id, true);
    if (s.Name !== undefined) c.string(at(p, 'Name'), s.Name);
    c.oneOf(at(p, 'PolicyType'), s.PolicyType, ['IPSET', 'NESTEDIPSET']);
    c.string(at(p, 'Values'), s.Values);
  },
  L4Proxy: checkL4Proxy,
  LayerConstraint: (c, p, s) => c.guid(at(p, 'LayerId'), s.LayerId),
  NetworkACL: (c, p, s) => checkAcl(c, p, s, ['Allow', 'Block']),
};

const ENDPOINT_POLICY_CHECKS: Record<string, SettingsCheck> = {
  PortMapping: (c, p, s) => {
    c.integer(at(p, 'Protocol'), s.Protocol, 0, 255);
    c.integer(at(p, 'InternalPort'), s.InternalPort, 1, UINT16);
    c.integer(at(p, 'ExternalPort'), s.ExternalPort, 0, UINT16);
    if (s.VIP !== undefined) c.ip(at(p, 'VIP'), s.VIP, true);
    if (s.Flags !== undefined) c.integer(at(p, 'Flags'), s.Flags, 0, 7);
  },
  ACL: (c, p, s) => checkAcl(c, p, s, ['Allow', 'Block']),
  QOS: (c, p, s) => c.integer(at(p, 'MaximumOutgoingBandwidthInBytes'), s.MaximumOutgoingBandwidthInBytes, 0, UINT64),
  L2Driver: () => undefined,
  OutBoundNAT: (c, p, s) => {
    if (s.VirtualIP !== undefined && s.VirtualIP !== '') c.ip(at(p, 'VirtualIP'), s.VirtualIP);
    for (const k of ['Exceptions', 'Destinations'] as const) {
      if (s[k] !== undefined && c.array(at(p, k), s[k])) (s[k] as unknown[]).forEach((x, i) => c.ipOrCidr(at(at(p, k), i), x));
    }
    if (s.Flags !== undefined) c.integer(at(p, 'Flags'), s.Flags, 0, 7);
    if (s.MaxPortPoolUsage !== undefined) c.integer(at(p, 'MaxPortPoolUsage'), s.MaxPortPoolUsage, 0, UINT16);
  },
  SDNRoute: (c, p, s) => {
    c.cidr(at(p, 'DestinationPrefix'), s.DestinationPrefix);
    if (s.NextHop !== undefined && s.NextHop !== '') c.ip(at(p, 'NextHop'), s.NextHop);
    if (s.NeedEncap !== undefined) c.boolean(at(p, 'NeedEncap'), s.NeedEncap);
    if (s.AutomaticEndpointMonitor !== undefined) c.boolean(at(p, 'AutomaticEndpointMonitor'), s.AutomaticEndpointMonitor);
  },
  L4Proxy: checkL4Proxy,
  L4WFPPROXY: (c, p, s) => {
    for (const k of ['InboundProxyPort', 'OutboundProxyPort'] as const) {
      if (s[k] !== undefined && !(typeof s[k] === 'string' && isPort(s[k] as string))) c.add(at(p, k), `${describeValue(s[k])} is not a port string ("15001")`);
    }
    if (s.FilterTuple !== undefined) c.object(at(p, 'FilterTuple'), s.FilterTuple);
  },
  PortName: (c, p, s) => void c.string(at(p, 'Name'), s.Name, true),
  EncapOverhead: (c, p, s) => c.integer(at(p, 'Overhead'), s.Overhead, 0, UINT16),
  Iov: (c, p, s) => {
    for (const k of ['IovOffloadWeight', 'QueuePairsRequested', 'InterruptModeration'] as const) {
      if (s[k] !== undefined) c.integer(at(p, k), s[k], 0, UINT32);
    }
  },
  ProviderAddress: (c, p, s) => c.ip(at(p, 'ProviderAddress'), s.ProviderAddress),
  InterfaceConstraint: checkInterfaceConstraint,
  TierAcl: (c, p, s) => {
    c.string(at(p, 'Name'), s.Name, true);
    c.oneOf(at(p, 'Direction'), s.Direction, ['In', 'Out']);
    if (s.Order !== undefined) c.integer(at(p, 'Order'), s.Order, 0, UINT16);
    if (c.array(at(p, 'TierAclRules'), s.TierAclRules)) {
      s.TierAclRules.forEach((r, i) => {
        const rp = at(at(p, 'TierAclRules'), i);
        if (!c.object(rp, r)) return;
        c.oneOf(at(rp, 'TierAclRuleAction'), r.TierAclRuleAction, ['Allow', 'Block', 'Pass']);
        if (r.Protocols !== undefined) c.commaList(at(rp, 'Protocols'), r.Protocols, isProtocolNumber, 'IP protocol numbers');
        if (r.Priority !== undefined) c.integer(at(rp, 'Priority'), r.Priority, 0, UINT16);
      });
    }
  },
  VLAN: (c, p, s) => c.integer(at(p, 'IsolationId'), s.IsolationId, 0, 4095),
  InterfaceParameters: (c, p, s) => c.integer(at(p, 'Mtu'), s.Mtu, 68, UINT16),
  Encryption: () => undefined,
};

const SUBNET_POLICY_CHECKS: Record<string, SettingsCheck> = {
  VSID: (c, p, s) => c.integer(at(p, 'IsolationId'), s.IsolationId, 0, 16777215),
  VLAN: (c, p, s) => c.integer(at(p, 'IsolationId'), s.IsolationId, 0, 4095),
};

function checkPolicies(c: Checker, path: string, policies: unknown, known: readonly string[], checks: Record<string, SettingsCheck>, what: string): void {
  if (!c.array(path, policies)) return;
  policies.forEach((pol, i) => {
    const p = at(path, i);
    if (!c.object(p, pol)) return;
    if (typeof pol.Type !== 'string') {
      c.add(at(p, 'Type'), `is missing: a policy needs a Type, one of ${known.join(', ')}`);
      return;
    }
    const type = known.find((k) => k.toLowerCase() === (pol.Type as string).toLowerCase());
    if (!type) {
      c.add(at(p, 'Type'), `"${pol.Type}" is not ${what === 'endpoint' ? 'an' : 'a'} ${what} policy type: use one of ${known.join(', ')}`);
      return;
    }
    const settings = pol.Settings === undefined ? {} : pol.Settings;
    if (!c.object(at(p, 'Settings'), settings)) return;
    checks[type]?.(c, at(p, 'Settings'), settings);
  });
}

// ---- documents -----------------------------------------------------------------------------------------

export interface ValidateOptions {
  /** The document is about to be created: read-only fields are refused and required ones enforced. */
  create?: boolean;
}

export function validateNetwork(doc: unknown, opts: ValidateOptions = {}): ValidationIssue[] {
  const c = new Checker();
  if (!c.object('', doc)) return c.issues;
  checkBase(c, doc);
  if (opts.create && doc.Name === undefined) c.add('Name', 'is required: give the network a name');
  if (doc.Type !== undefined) c.oneOf('Type', doc.Type, NETWORK_TYPES);
  if (doc.Policies !== undefined) checkPolicies(c, 'Policies', doc.Policies, NETWORK_POLICY_TYPES, NETWORK_POLICY_CHECKS, 'network');
  if (doc.MacPool !== undefined && c.object('MacPool', doc.MacPool) && doc.MacPool.Ranges !== undefined && c.array('MacPool.Ranges', doc.MacPool.Ranges)) {
    doc.MacPool.Ranges.forEach((r, i) => {
      const p = at('MacPool.Ranges', i);
      if (!c.object(p, r)) return;
      c.mac(at(p, 'StartMacAddress'), r.StartMacAddress);
      c.mac(at(p, 'EndMacAddress'), r.EndMacAddress);
    });
  }
  if (doc.Dns !== undefined) checkDns(c, 'Dns', doc.Dns);
  if (doc.Ipams !== undefined && c.array('Ipams', doc.Ipams)) {
    doc.Ipams.forEach((ipam, i) => {
      const p = at('Ipams', i);
      if (!c.object(p, ipam)) return;
      if (ipam.Type !== undefined) c.oneOf(at(p, 'Type'), ipam.Type, ['Static', 'Dhcp']);
      if (ipam.Subnets !== undefined && c.array(at(p, 'Subnets'), ipam.Subnets)) {
        ipam.Subnets.forEach((s, j) => checkSubnet(c, at(at(p, 'Subnets'), j), s));
      }
    });
  }
  return c.issues;
}

function checkSubnet(c: Checker, p: string, s: unknown): void {
  if (!c.object(p, s)) return;
  if (s.ID !== undefined) c.guid(at(p, 'ID'), s.ID);
  const prefix = s.IpAddressPrefix;
  if (prefix !== undefined) c.cidr(at(p, 'IpAddressPrefix'), prefix);
  if (s.Routes !== undefined) {
    checkRoutes(c, at(p, 'Routes'), s.Routes);
    if (isCidr(prefix) && Array.isArray(s.Routes)) {
      s.Routes.forEach((r, k) => {
        if (isObj(r) && isIp(r.NextHop) && !cidrContains(prefix, r.NextHop)) {
          c.add(at(at(at(p, 'Routes'), k), 'NextHop'), `"${r.NextHop}" is not inside the subnet ${prefix}: use a gateway address in ${prefix}`);
        }
      });
    }
  }
  if (s.Policies !== undefined) checkPolicies(c, at(p, 'Policies'), s.Policies, SUBNET_POLICY_TYPES, SUBNET_POLICY_CHECKS, 'subnet');
  if (s.IpSubnets !== undefined && c.array(at(p, 'IpSubnets'), s.IpSubnets)) {
    s.IpSubnets.forEach((ips, k) => {
      const ip = at(at(p, 'IpSubnets'), k);
      if (!c.object(ip, ips)) return;
      if (ips.IpAddressPrefix !== undefined) c.cidr(at(ip, 'IpAddressPrefix'), ips.IpAddressPrefix);
      if (ips.Flags !== undefined) c.integer(at(ip, 'Flags'), ips.Flags, 0, UINT32);
    });
  }
  if (s.Flags !== undefined) c.integer(at(p, 'Flags'), s.Flags, 0, UINT32);
}

export function validateEndpoint(doc: unknown, opts: ValidateOptions = {}): ValidationIssue[] {
  const c = new Checker();
  if (!c.object('', doc)) return c.issues;
  checkBase(c, doc);
  if (doc.HostComputeNetwork !== undefined) c.guid('HostComputeNetwork', doc.HostComputeNetwork);
  else if (opts.create) c.add('HostComputeNetwork', 'is required: the ID of the network the endpoint belongs to');
  if (opts.create && doc.HostComputeNamespace !== undefined) {
    c.add('HostComputeNamespace', 'is read only and must not be set on create: attach the endpoint to a namespace afterwards');
  } else if (doc.HostComputeNamespace !== undefined) c.guid('HostComputeNamespace', doc.HostComputeNamespace);
  if (doc.Policies !== undefined) checkPolicies(c, 'Policies', doc.Policies, ENDPOINT_POLICY_TYPES, ENDPOINT_POLICY_CHECKS, 'endpoint');
  if (doc.IpConfigurations !== undefined && c.array('IpConfigurations', doc.IpConfigurations)) {
    const families = new Map<number, number>();
    doc.IpConfigurations.forEach((cfg, i) => {
      const p = at('IpConfigurations', i);
      if (!c.object(p, cfg)) return;
      const fam = typeof cfg.IpAddress === 'string' ? ipFamily(cfg.IpAddress) : undefined;
      if (cfg.IpAddress !== undefined) c.ip(at(p, 'IpAddress'), cfg.IpAddress);
      if (cfg.PrefixLength !== undefined) c.integer(at(p, 'PrefixLength'), cfg.PrefixLength, 0, fam === 6 ? 128 : fam === 4 ? 32 : 128);
      if (cfg.IpSubnetId !== undefined) c.guid(at(p, 'IpSubnetId'), cfg.IpSubnetId);
      if (fam !== undefined) {
        if (families.has(fam)) c.add(at(p, 'IpAddress'), `a second IPv${fam} address (IpConfigurations[${families.get(fam)}] is IPv${fam}): an endpoint has at most one IPv4 and one IPv6 address`);
        else families.set(fam, i);
      }
    });
  }
  if (doc.Dns !== undefined) checkDns(c, 'Dns', doc.Dns);
  if (doc.Routes !== undefined) checkRoutes(c, 'Routes', doc.Routes);
  if (doc.MacAddress !== undefined) c.mac('MacAddress', doc.MacAddress);
  return c.issues;
}

export function validateNamespace(doc: unknown, opts: ValidateOptions = {}): ValidationIssue[] {
  const c = new Checker();
  if (!c.object('', doc)) return c.issues;
  checkBase(c, doc);
  if (doc.Type !== undefined) c.oneOf('Type', doc.Type, NAMESPACE_TYPES);
  if (doc.NamespaceId !== undefined) c.integer('NamespaceId', doc.NamespaceId, 0, UINT32);
  if (doc.NamespaceGuid !== undefined) c.guid('NamespaceGuid', doc.NamespaceGuid);
  if (doc.Resources !== undefined && c.array('Resources', doc.Resources)) {
    doc.Resources.forEach((r, i) => {
      const p = at('Resources', i);
      if (!c.object(p, r)) return;
      c.oneOf(at(p, 'Type'), r.Type, ['Container', 'Endpoint']);
      if (!c.object(at(p, 'Data'), r.Data)) return;
      const id = r.Data.ID ?? r.Data.Id;
      if (id !== undefined) c.guid(at(at(p, 'Data'), 'ID'), id);
      else if (opts.create) c.add(at(at(p, 'Data'), 'ID'), 'is required: the ID of the endpoint or container');
    });
  }
  return c.issues;
}

export function validateLoadBalancer(doc: unknown, opts: ValidateOptions = {}): ValidationIssue[] {
  const c = new Checker();
  if (!c.object('', doc)) return c.issues;
  checkBase(c, doc);
  const families = new Set<number>();
  if (doc.HostComputeEndpoints !== undefined && c.array('HostComputeEndpoints', doc.HostComputeEndpoints)) {
    const seen = new Set<string>();
    doc.HostComputeEndpoints.forEach((id, i) => {
      c.guid(at('HostComputeEndpoints', i), id);
      if (typeof id === 'string') {
        if (seen.has(id.toLowerCase())) c.add(at('HostComputeEndpoints', i), `endpoint ${id} is listed twice`);
        seen.add(id.toLowerCase());
      }
    });
  }
  if (doc.SourceVIP !== undefined && doc.SourceVIP !== '') {
    c.ip('SourceVIP', doc.SourceVIP);
    if (isIp(doc.SourceVIP)) families.add(ipFamily(doc.SourceVIP)!);
  }
  if (doc.FrontendVIPs !== undefined && c.array('FrontendVIPs', doc.FrontendVIPs)) {
    doc.FrontendVIPs.forEach((v, i) => {
      c.ip(at('FrontendVIPs', i), v);
      if (isIp(v)) families.add(ipFamily(v)!);
    });
  }
  if (families.size > 1) c.add('FrontendVIPs', 'mixes IPv4 and IPv6 addresses (with SourceVIP): a load balancer is one family; create one per family');
  const flags = typeof doc.Flags === 'number' ? doc.Flags : 0;
  if (families.has(6) && (flags & 2) === 0) c.add('Flags', 'IPv6 VIPs need the IPv6 flag (2): set Flags to ' + (flags | 2));
  if (doc.PortMappings !== undefined && c.array('PortMappings', doc.PortMappings)) {
    if (opts.create && doc.PortMappings.length === 0) c.add('PortMappings', 'needs at least one port mapping');
    doc.PortMappings.forEach((m, i) => {
      const p = at('PortMappings', i);
      if (!c.object(p, m)) return;
      c.integer(at(p, 'Protocol'), m.Protocol, 0, 255);
      c.integer(at(p, 'InternalPort'), m.InternalPort, 1, UINT16);
      c.integer(at(p, 'ExternalPort'), m.ExternalPort, 0, UINT16);
      if (m.DistributionType !== undefined) c.integer(at(p, 'DistributionType'), m.DistributionType, 0, 2);
      if (m.Flags !== undefined) c.integer(at(p, 'Flags'), m.Flags, 0, 31);
    });
  } else if (opts.create && doc.PortMappings === undefined) {
    c.add('PortMappings', 'is required: e.g. [{"Protocol": 6, "InternalPort": 8080, "ExternalPort": 80}]');
  }
  if (doc.HostComputeNetwork !== undefined) c.guid('HostComputeNetwork', doc.HostComputeNetwork);
  return c.issues;
}

// ---- modify requests ------------------------------------------------------------------------------------

function checkRequestEnvelope(c: Checker, req: unknown, resourceTypes: readonly string[]): req is Rec {
  if (!c.object('', req)) return false;
  c.oneOf('ResourceType', req.ResourceType, resourceTypes);
  c.oneOf('RequestType', req.RequestType, REQUEST_TYPES);
  if (req.ResourceUri !== undefined) c.string('ResourceUri', req.ResourceUri);
  return c.object('Settings', req.Settings);
}

const same = (a: unknown, b: string) => typeof a === 'string' && a.toLowerCase() === b.toLowerCase();

export function validateNetworkModify(req: unknown): ValidationIssue[] {
  const c = new Checker();
  if (!checkRequestEnvelope(c, req, ['Policy', 'DNS', 'Extension', 'Subnet', 'IPSubnet'])) return c.issues;
  const s = req.Settings as Rec;
  if (same(req.ResourceType, 'Policy')) {
    checkPolicies(c, 'Settings.Policies', s.Policies, NETWORK_POLICY_TYPES, NETWORK_POLICY_CHECKS, 'network');
  } else if (same(req.ResourceType, 'DNS')) {
    checkDns(c, 'Settings', s);
  } else if (same(req.ResourceType, 'Extension')) {
    c.guid('Settings.Id', s.Id);
    c.boolean('Settings.IsEnabled', s.IsEnabled);
  } else if (same(req.ResourceType, 'Subnet')) {
    if (c.array('Settings.Subnets', s.Subnets)) s.Subnets.forEach((sub, i) => checkSubnet(c, at('Settings.Subnets', i), sub));
  } else if (same(req.ResourceType, 'IPSubnet')) {
    c.guid('Settings.SubnetId', s.SubnetId);
    c.array('Settings.IpSubnets', s.IpSubnets);
  }
  return c.issues;
}

export function validateEndpointModify(req: unknown): ValidationIssue[] {
  const c = new Checker();
  if (!checkRequestEnvelope(c, req, ['Port', 'Policy'])) return c.issues;
  const s = req.Settings as Rec;
  if (same(req.ResourceType, 'Policy')) {
    checkPolicies(c, 'Settings.Policies', s.Policies, ENDPOINT_POLICY_TYPES, ENDPOINT_POLICY_CHECKS, 'endpoint');
  } else {
    if (s.PortId !== undefined) c.guid('Settings.PortId', s.PortId);
    if (s.VirtualMachineId !== undefined) c.guid('Settings.VirtualMachineId', s.VirtualMachineId);
    if (s.VirtualNicName !== undefined) c.string('Settings.VirtualNicName', s.VirtualNicName, true);
  }
  return c.issues;
}

export function validateNamespaceModify(req: unknown): ValidationIssue[] {
  const c = new Checker();
  if (!checkRequestEnvelope(c, req, ['Endpoint', 'Container'])) return c.issues;
  const s = req.Settings as Rec;
  if (req.RequestType !== undefined && !['add', 'remove'].includes(String(req.RequestType).toLowerCase())) {
    c.add('RequestType', `"${req.RequestType}" is not supported for namespaces: use Add or Remove`);
  }
  if (same(req.ResourceType, 'Endpoint')) c.guid('Settings.EndpointId', s.EndpointId);
  else if (same(req.ResourceType, 'Container')) c.string('Settings.ContainerId', s.ContainerId, true);
  return c.issues;
}

/** Throws HcnValidationError listing every issue, or returns the document unchanged. */
export function assertValid<T>(what: string, doc: T, issues: ValidationIssue[]): T {
  if (issues.length > 0) throw new HcnValidationError(what, issues);
  return doc;
}
