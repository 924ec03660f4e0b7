/**
 * Structural validation of HCN v2 documents and modify requests, before anything is sent to a data plane.
 * It catches what HNS would refuse with E_INVALIDARG / HCN_E_INVALID_* (or, worse, accept and misbehave on),
 * and says which field is wrong and how to fix it, e.g.
 *   Ipams[0].Subnets[0].IpAddressPrefix: "10.0.0.0/33" is not a valid CIDR prefix (e.g. "10.244.1.0/24")
 * Pure: no OS access; used by the CLI (so bad input changes no state) and available to data planes.
 */
import { cidrContains, ipFamily, isCidr, isIp } from '../net/ip';
import { NETWORK_TYPES } from './network';
import { NAMESPACE_TYPES } from './namespace';
import { policyDescriptor, policyTypesOf, type PolicyScope } from './policies';
import { REQUEST_TYPES } from './modify';
import { Checker, UINT16, UINT32, at, isObj, type Rec, type ValidationIssue } from './policies/checker';

export type { ValidationIssue };

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

/** Each policy's Type must be one of the scope's (case-insensitive); its Settings are checked by its descriptor. */
function checkPolicies(c: Checker, path: string, policies: unknown, scope: PolicyScope): void {
  if (!c.array(path, policies)) return;
  const known = policyTypesOf(scope);
  policies.forEach((pol, i) => {
    const p = at(path, i);
    if (!c.object(p, pol)) return;
    if (typeof pol.Type !== 'string') {
      c.add(at(p, 'Type'), `is missing: a policy needs a Type, one of ${known.join(', ')}`);
      return;
    }
    const d = policyDescriptor(scope, pol.Type);
    if (!d) {
      c.add(
        at(p, 'Type'),
        `"${pol.Type}" is not ${scope === 'endpoint' ? 'an' : 'a'} ${scope} policy type: use one of ${known.join(', ')}`,
      );
      return;
    }
    const settings = pol.Settings === undefined ? {} : pol.Settings;
    if (!c.object(at(p, 'Settings'), settings)) return;
    d.check?.(c, at(p, 'Settings'), settings);
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
  if (doc.Policies !== undefined) checkPolicies(c, 'Policies', doc.Policies, 'network');
  if (
    doc.MacPool !== undefined &&
    c.object('MacPool', doc.MacPool) &&
    doc.MacPool.Ranges !== undefined &&
    c.array('MacPool.Ranges', doc.MacPool.Ranges)
  ) {
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
          c.add(
            at(at(at(p, 'Routes'), k), 'NextHop'),
            `"${r.NextHop}" is not inside the subnet ${prefix}: use a gateway address in ${prefix}`,
          );
        }
      });
    }
  }
  if (s.Policies !== undefined) checkPolicies(c, at(p, 'Policies'), s.Policies, 'subnet');
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
  if (doc.Policies !== undefined) checkPolicies(c, 'Policies', doc.Policies, 'endpoint');
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
        if (families.has(fam))
          c.add(
            at(p, 'IpAddress'),
            `a second IPv${fam} address (IpConfigurations[${families.get(fam)}] is IPv${fam}): an endpoint has at most one IPv4 and one IPv6 address`,
          );
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
  if (families.size > 1)
    c.add('FrontendVIPs', 'mixes IPv4 and IPv6 addresses (with SourceVIP): a load balancer is one family; create one per family');
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
    checkPolicies(c, 'Settings.Policies', s.Policies, 'network');
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
    checkPolicies(c, 'Settings.Policies', s.Policies, 'endpoint');
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
