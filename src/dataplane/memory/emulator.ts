/**
 * The HNS emulator: a HostNetworkService with HNS's semantics and HRESULTs, state in one shared file.
 * Every rule it enforces is written down in docs/emulator.md with the reference it comes from.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  DEFAULT_EMULATED_VERSION, EndpointFlags, HnsError, NAMESPACE_TYPES, SCHEMA_V2, featuresFor, getCI, normalizeKeys,
  policyTypeIs,
  type HnsFeatures, type HnsVersion, type HostComputeEndpoint, type HostComputeLoadBalancer, type HostComputeNamespace,
  type HostComputeNetwork, type HostComputeQuery, type IpConfig, type ModifyEndpointRequest, type ModifyNamespaceRequest,
  type ModifyNetworkRequest, type NamespaceResource, type Subnet,
} from '../../hns';
import {
  ConversionError, endpointV1ToV2, endpointV2ToV1, loadBalancerToPolicyList, looksLikeV1Endpoint, looksLikeV1Network,
  namespaceV2ToV1, networkV1ToV2, networkV2ToV1,
} from '../../hns/convert';
import type { AttachOptions, HnsV1Api, HostNetworkService } from '../types';
import { V1OverV2, type V1SideStore } from '../v1-over-v2';
import { contains, formatIp, isMac, isReserved, macKey, nextFree, parseIp, sameIp } from './addr';
import { StateStore, type EmulatedHost, type EmulatorState } from './state';
import {
  canonicalGuid, checkEndpointPolicies, checkNetworkPolicies, checkNetworkType, fail, isGuid, portsOf, requireFeature,
  requireGuid, subnetsOf, type Ctx, type PortKey,
} from './validate';

export const DEFAULT_MANAGEMENT_IP = '192.0.2.10';
export const DEFAULT_DR_MAC = '00-15-5D-C0-00-01';

export interface MemoryHnsOptions {
  statePath: string;
  /** Overrides the version recorded in the state file (env SWITCHYARD_HNS_VERSION). */
  emulatedVersion?: HnsVersion;
  /** Host facts used when the state file is first created. */
  managementIp?: string;
  drMacAddress?: string;
  lockTimeoutMs?: number;
}

type Doc = Record<string, unknown>;

const newGuid = (): string => randomUUID().toUpperCase();
const clone = <T>(v: T): T => structuredClone(v);
const sameGuid = (a: unknown, b: unknown): boolean =>
  typeof a === 'string' && typeof b === 'string' && a.replace(/^\{|\}$/g, '').toLowerCase() === b.replace(/^\{|\}$/g, '').toLowerCase();

/** Stable identity of a policy for "remove by content": type and settings, keys and strings case-folded. */
function policyKey(p: { Type?: unknown; Settings?: unknown }): string {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (typeof v === 'string') return isMac(v) ? macKey(v) : v.toLowerCase();
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()))) o[k.toLowerCase()] = norm((v as Doc)[k]);
      return o;
    }
    return v;
  };
  return JSON.stringify([String(p.Type ?? '').toLowerCase(), norm(p.Settings ?? {})]);
}

function parseQuery(query: HostComputeQuery | undefined, ctx: Ctx): { filter: Doc; v1: boolean } {
  if (!query) return { filter: {}, v1: false };
  const sv = getCI<{ Major?: number }>(query, 'SchemaVersion');
  const raw = getCI<unknown>(query, 'Filter');
  if (sv === undefined && raw === undefined && getCI(query, 'Flags') === undefined) {
    // The older WS-docs form: a bare filter object passed as the query.
    return { filter: query as unknown as Doc, v1: false };
  }
  let filter: Doc = {};
  if (typeof raw === 'string' && raw.trim() !== '') {
    try {
      filter = JSON.parse(raw) as Doc;
    } catch {
      fail('HCN_E_INVALID_JSON', ctx, `(query Filter is not JSON: ${raw})`);
    }
    if (!filter || typeof filter !== 'object' || Array.isArray(filter)) fail('HCN_E_INVALID_JSON', ctx, '(query Filter must be a JSON object)');
  } else if (raw && typeof raw === 'object') {
    filter = raw as Doc;
  }
  return { filter, v1: getCI<number>(sv, 'Major') === 1 };
}

const ID_KEYS = new Set(['id', 'hostcomputenetwork', 'virtualnetwork', 'hostcomputenamespace']);

function valueMatches(actual: unknown, expected: unknown): boolean {
  if (typeof expected === 'string') return typeof actual === 'string' && (isGuid(expected) ? sameGuid(actual, expected) : actual === expected);
  if (typeof expected === 'boolean') return !!actual === expected;
  return actual === expected;
}

export class MemoryHns implements HostNetworkService {
  readonly kind = 'memory' as const;
  readonly v1: HnsV1Api;
  readonly store: StateStore;
  private cachedVersion?: HnsVersion;

  constructor(private readonly opts: MemoryHnsOptions) {
    this.store = new StateStore({
      file: opts.statePath,
      lockTimeoutMs: opts.lockTimeoutMs,
      initialHost: (): EmulatedHost => ({
        Version: opts.emulatedVersion ?? { ...DEFAULT_EMULATED_VERSION },
        ManagementIP: opts.managementIp ?? DEFAULT_MANAGEMENT_IP,
        DrMacAddress: opts.drMacAddress ?? DEFAULT_DR_MAC,
        NextNamespaceId: 2,
      }),
      initialNamespaces: () => {
        const id = newGuid();
        // The node itself: compartment 1, what v1 `SystemType:"Host"` and v2 AttachToHost attach to.
        return [{ ID: id, NamespaceId: 1, NamespaceGuid: id, Type: 'HostDefault', Resources: [], SchemaVersion: { ...SCHEMA_V2 } }];
      },
    });
    this.v1 = new V1OverV2(this, new MemoryV1SideStore(this));
  }

  get statePath(): string {
    return this.store.file;
  }

  // ---- host ---------------------------------------------------------------------------------

  private versionOf(state: EmulatorState): HnsVersion {
    return this.opts.emulatedVersion ?? state.Host.Version ?? DEFAULT_EMULATED_VERSION;
  }

  async version(): Promise<HnsVersion> {
    this.cachedVersion ??= { ...this.versionOf(this.store.read()) };
    return { ...this.cachedVersion };
  }

  async features(): Promise<HnsFeatures> {
    return featuresFor(await this.version());
  }

  /** The emulated host's facts (management IP, DR MAC, version), as recorded in the state file. */
  async host(): Promise<EmulatedHost> {
    const s = this.store.read();
    return { ...s.Host, Version: this.versionOf(s) };
  }

  // ---- lookups ------------------------------------------------------------------------------

  private findIn<T extends { ID?: string }>(list: T[], id: string): T | undefined {
    return list.find((o) => sameGuid(o.ID, id));
  }

  private network(s: EmulatorState, id: string, ctx: Ctx, code: 'ERROR_NOT_FOUND' | 'HCN_E_NETWORK_NOT_FOUND' = 'ERROR_NOT_FOUND'): HostComputeNetwork {
    requireGuid(id, 'network ID', ctx);
    const n = this.findIn(s.Networks, id);
    if (!n) fail(code, ctx, `(network ${id})`);
    return n;
  }

  private endpoint(s: EmulatorState, id: string, ctx: Ctx, code: 'ERROR_NOT_FOUND' | 'HCN_E_ENDPOINT_NOT_FOUND' = 'ERROR_NOT_FOUND'): HostComputeEndpoint {
    requireGuid(id, 'endpoint ID', ctx);
    const e = this.findIn(s.Endpoints, id);
    if (!e) fail(code, ctx, `(endpoint ${id})`);
    return e;
  }

  private namespace(s: EmulatorState, id: string, ctx: Ctx): HostComputeNamespace {
    requireGuid(id, 'namespace ID', ctx);
    const n = this.findIn(s.Namespaces, id);
    if (!n) fail('ERROR_NOT_FOUND', ctx, `(namespace ${id})`);
    return n;
  }

  private loadBalancer(s: EmulatorState, id: string, ctx: Ctx): HostComputeLoadBalancer {
    requireGuid(id, 'load balancer ID', ctx);
    const lb = this.findIn(s.LoadBalancers, id);
    if (!lb) fail('ERROR_NOT_FOUND', ctx, `(load balancer ${id})`);
    return lb;
  }

  /** A caller-chosen ID is honoured (HcnCreate* takes one); otherwise HNS makes one up. */
  private assignId(requested: unknown, taken: { ID?: string }[], what: string, ctx: Ctx): string {
    if (requested === undefined || requested === '' || requested === '00000000-0000-0000-0000-000000000000') return newGuid();
    const id = requireGuid(requested, `${what} ID`, ctx);
    if (this.findIn(taken, id)) fail('ERROR_ALREADY_EXISTS', ctx, `(a ${what} with ID ${id} already exists)`);
    return id;
  }

  private filterList<T extends Doc>(items: T[], filter: Doc, special: (item: T, key: string, expected: unknown) => boolean | undefined): T[] {
    const keys = Object.keys(filter);
    if (!keys.length) return items;
    return items.filter((item) => keys.every((k) => {
      const expected = filter[k];
      const r = special(item, k.toLowerCase(), expected);
      if (r !== undefined) return r;
      if (ID_KEYS.has(k.toLowerCase())) return sameGuid(getCI(item, k), expected);
      return valueMatches(getCI(item, k), expected);
    }));
  }

  // ---- networks -----------------------------------------------------------------------------

  async listNetworks(query?: HostComputeQuery): Promise<HostComputeNetwork[]> {
    const ctx = { call: 'HcnEnumerateNetworks' };
    const { filter, v1 } = parseQuery(query, ctx);
    const s = this.store.read();
    const out = this.filterList(s.Networks as Doc[], filter, (n, k, v) => {
      if (k === 'type') return typeof v === 'string' && String(n.Type ?? 'NAT').toLowerCase() === v.toLowerCase();
      return undefined;
    }) as HostComputeNetwork[];
    return v1 ? (out.map(networkV2ToV1) as unknown as HostComputeNetwork[]) : out;
  }

  async getNetwork(id: string): Promise<HostComputeNetwork> {
    return this.network(this.store.read(), id, { call: 'HcnOpenNetwork', subject: `network ${id}` });
  }

  async createNetwork(doc: HostComputeNetwork): Promise<HostComputeNetwork> {
    const ctx: Ctx = { call: 'HcnCreateNetwork', subject: `network ${doc?.Name ?? ''}`.trim() };
    if (!doc || typeof doc !== 'object') fail('HCN_E_INVALID_JSON', ctx, '(the network document must be a JSON object)');
    let input = normalizeKeys(clone(doc)) as HostComputeNetwork;
    if (looksLikeV1Network(input)) input = networkV1ToV2(input as never);
    return this.store.mutate((s) => {
      const version = this.versionOf(s);
      const type = checkNetworkType(input.Type, ctx);
      if (input.Name !== undefined && typeof input.Name !== 'string') fail('E_INVALIDARG', ctx, '(Name must be a string)');
      if (input.Name && s.Networks.some((n) => n.Name === input.Name)) fail('HCN_E_NETWORK_ALREADY_EXISTS', ctx, `(name "${input.Name}")`);
      const id = this.assignId(input.ID, s.Networks, 'network', ctx);
      if (input.Ipams !== undefined && !Array.isArray(input.Ipams)) fail('E_INVALIDARG', ctx, '(Ipams must be an array)');
      for (const ipam of input.Ipams ?? []) {
        if (ipam.Type !== undefined && !['static', 'dhcp'].includes(String(ipam.Type).toLowerCase())) fail('E_INVALIDARG', ctx, `(Ipams Type "${ipam.Type}" must be Static or Dhcp)`);
        for (const sub of ipam.Subnets ?? []) {
          if (sub.ID === undefined) sub.ID = newGuid();
          for (const p of sub.Policies ?? []) {
            if (!['vsid', 'vlan'].includes(String(p.Type).toLowerCase())) fail('HCN_E_INVALID_POLICY_TYPE', ctx, `(subnet policy "${String(p.Type)}" must be VSID or VLAN)`);
            if (typeof getCI(p.Settings, 'IsolationId') !== 'number') fail('HCN_E_INVALID_POLICY', ctx, `(subnet ${sub.IpAddressPrefix} ${p.Type} needs a numeric IsolationId)`);
            p.Type = String(p.Type).toUpperCase() as 'VSID' | 'VLAN';
          }
        }
      }
      subnetsOf(input, ctx);
      const policies = checkNetworkPolicies(input.Policies, version, ctx);
      // HNS publishes the host's provider address (and, on Overlay, the distributed router MAC) on the
      // networks that need them; flannel waits for these before it uses the network.
      if (type === 'Overlay' || type === 'L2Bridge') {
        if (!policies.some((p) => policyTypeIs(p, 'ProviderAddress'))) {
          policies.push({ Type: 'ProviderAddress', Settings: { ProviderAddress: s.Host.ManagementIP } });
        }
        if (type === 'Overlay' && !policies.some((p) => policyTypeIs(p, 'DrMacAddress'))) {
          policies.push({ Type: 'DrMacAddress', Settings: { Address: s.Host.DrMacAddress } });
        }
      }
      const net: HostComputeNetwork = { ID: id, ...input };
      net.ID = id;
      // HNS leaves Type out of its output when it is NAT (the zero value).
      if (type === 'NAT') delete net.Type;
      else net.Type = type;
      if (policies.length) net.Policies = policies;
      else delete net.Policies;
      delete net.State;
      net.SchemaVersion = { ...SCHEMA_V2 };
      s.Networks.push(net);
      return clone(net);
    });
  }

  async modifyNetwork(id: string, request: ModifyNetworkRequest): Promise<HostComputeNetwork> {
    const ctx: Ctx = { call: 'HcnModifyNetwork', subject: `network ${id}` };
    const req = normalizeKeys(clone(request)) as ModifyNetworkRequest;
    return this.store.mutate((s) => {
      const net = this.network(s, id, ctx);
      const version = this.versionOf(s);
      const rt = String(req?.ResourceType ?? '').toLowerCase();
      const op = String(req?.RequestType ?? '').toLowerCase();
      const settings = (req?.Settings ?? {}) as Doc;
      switch (rt) {
        case 'policy': {
          const incoming = checkNetworkPolicies(getCI(settings, 'Policies') ?? [], version, ctx);
          net.Policies = this.applyPolicyChange(net.Policies ?? [], incoming, op, ctx, (p, existing) => {
            // One route per remote prefix: flannel removes the old one before adding the new one.
            if (!policyTypeIs(p, 'RemoteSubnetRoute')) return false;
            const prefix = String(getCI(p.Settings, 'DestinationPrefix') ?? '').toLowerCase();
            return existing.some((e) => policyTypeIs(e, 'RemoteSubnetRoute') && String(getCI(e.Settings, 'DestinationPrefix') ?? '').toLowerCase() === prefix);
          }) as HostComputeNetwork['Policies'];
          break;
        }
        case 'dns':
          if (op === 'remove') delete net.Dns;
          else if (op === 'add' || op === 'update') net.Dns = settings as HostComputeNetwork['Dns'];
          else fail('E_INVALIDARG', ctx, `(RequestType "${req.RequestType}" is not valid for DNS: use Add, Update or Remove)`);
          break;
        case 'extension': {
          const extId = getCI<string>(settings, 'Id');
          if (!isGuid(extId)) fail('E_INVALIDARG', ctx, '(Extension Settings.Id must be the extension GUID)');
          const enable = !!getCI(settings, 'IsEnabled');
          const others = (net.Policies ?? []).filter((p) => !(policyTypeIs(p, 'VSwitchExtension') && sameGuid(getCI(p.Settings, 'ExtensionID'), extId)));
          net.Policies = [...others, { Type: 'VSwitchExtension', Settings: { ExtensionID: canonicalGuid(extId), Enable: enable } }];
          break;
        }
        case 'subnet':
          this.modifySubnets(s, net, op, getCI<Subnet[]>(settings, 'Subnets') ?? [], ctx);
          break;
        case 'ipsubnet':
          this.modifyIpSubnets(net, op, settings, ctx);
          break;
        default:
          fail('E_INVALIDARG', ctx, `(ResourceType "${String(req?.ResourceType)}" is not one of Policy, DNS, Extension, Subnet, IPSubnet)`);
      }
      return clone(net);
    });
  }

  /** Add / Remove (by content) / Update (replace all policies of the given types) on a policy array. */
  private applyPolicyChange(
    current: { Type: string; Settings?: unknown }[],
    incoming: { Type: string; Settings?: unknown }[],
    op: string,
    ctx: Ctx,
    conflicts: (p: { Type: string; Settings?: unknown }, existing: { Type: string; Settings?: unknown }[]) => boolean = () => false,
  ): { Type: string; Settings?: unknown }[] {
    const result = [...current];
    if (op === 'add') {
      for (const p of incoming) {
        if (result.some((e) => policyKey(e) === policyKey(p)) || conflicts(p, result)) {
          fail('HCN_E_POLICY_ALREADY_EXISTS', ctx, `(${p.Type} ${JSON.stringify(p.Settings ?? {})})`);
        }
        result.push(p);
      }
      return result;
    }
    if (op === 'remove') {
      for (const p of incoming) {
        const i = result.findIndex((e) => policyKey(e) === policyKey(p));
        if (i < 0) fail('HCN_E_POLICY_NOT_FOUND', ctx, `(${p.Type} ${JSON.stringify(p.Settings ?? {})})`);
        result.splice(i, 1);
      }
      return result;
    }
    if (op === 'update') {
      const types = new Set(incoming.map((p) => p.Type.toLowerCase()));
      return [...result.filter((e) => !types.has(e.Type.toLowerCase())), ...incoming];
    }
    fail('E_INVALIDARG', ctx, `(RequestType "${op}" is not valid for policies: use Add, Remove or Update)`);
  }

  private modifySubnets(s: EmulatorState, net: HostComputeNetwork, op: string, subnets: Subnet[], ctx: Ctx): void {
    net.Ipams ??= [{ Type: 'Static', Subnets: [] }];
    if (!net.Ipams.length) net.Ipams.push({ Type: 'Static', Subnets: [] });
    const ipam = net.Ipams[0];
    ipam.Subnets ??= [];
    if (op === 'add') {
      for (const sub of subnets) {
        sub.ID ??= newGuid();
        ipam.Subnets.push(sub);
      }
      subnetsOf(net, ctx);
      return;
    }
    if (op === 'remove') {
      for (const sub of subnets) {
        let found = false;
        for (const ip of net.Ipams) {
          const i = (ip.Subnets ?? []).findIndex((x) => (sub.ID && sameGuid(x.ID, sub.ID)) || (sub.IpAddressPrefix && x.IpAddressPrefix === sub.IpAddressPrefix));
          if (i < 0) continue;
          const info = subnetsOf({ Ipams: [{ Subnets: [ip.Subnets![i]] }] })[0];
          const inUse = info && s.Endpoints.some((e) => sameGuid(e.HostComputeNetwork, net.ID) && (e.IpConfigurations ?? []).some((c) => {
            const a = parseIp(c.IpAddress);
            return !!a && contains(info.cidr, a);
          }));
          if (inUse) fail('HCN_E_ENTITY_HAS_REFERENCES', ctx, `(subnet ${ip.Subnets![i].IpAddressPrefix} still has endpoints)`);
          ip.Subnets!.splice(i, 1);
          found = true;
          break;
        }
        if (!found) fail('HCN_E_SUBNET_NOT_FOUND', ctx, `(subnet ${sub.ID ?? sub.IpAddressPrefix})`);
      }
      return;
    }
    fail('E_INVALIDARG', ctx, `(RequestType "${op}" is not valid for Subnet: use Add or Remove)`);
  }

  private modifyIpSubnets(net: HostComputeNetwork, op: string, settings: Doc, ctx: Ctx): void {
    const subnetId = getCI<string>(settings, 'SubnetId');
    const sub = (net.Ipams ?? []).flatMap((i) => i.Subnets ?? []).find((x) => sameGuid(x.ID, subnetId));
    if (!sub) fail('HCN_E_SUBNET_NOT_FOUND', ctx, `(subnet ${String(subnetId)})`);
    const outer = subnetsOf({ Ipams: [{ Subnets: [sub] }] })[0];
    const items = (getCI<{ ID?: string; IpAddressPrefix?: string; Flags?: number }[]>(settings, 'IpSubnets') ?? []);
    sub.IpSubnets ??= [];
    for (const item of items) {
      if (op === 'add') {
        const c = parseIp(String(item.IpAddressPrefix ?? '').split('/')[0]);
        if (!c || !outer || !contains(outer.cidr, c)) fail('HCN_E_INVALID_IP_SUBNET', ctx, `(IP subnet ${String(item.IpAddressPrefix)} is not inside ${sub.IpAddressPrefix})`);
        sub.IpSubnets.push({ ...item, ID: item.ID ?? newGuid() });
      } else if (op === 'remove') {
        const i = sub.IpSubnets.findIndex((x) => (item.ID && sameGuid(x.ID, item.ID)) || x.IpAddressPrefix === item.IpAddressPrefix);
        if (i < 0) fail('HCN_E_SUBNET_NOT_FOUND', ctx, `(IP subnet ${item.ID ?? item.IpAddressPrefix})`);
        sub.IpSubnets.splice(i, 1);
      } else {
        fail('E_INVALIDARG', ctx, `(RequestType "${op}" is not valid for IPSubnet: use Add or Remove)`);
      }
    }
  }

  async deleteNetwork(id: string): Promise<void> {
    const ctx: Ctx = { call: 'HcnDeleteNetwork', subject: `network ${id}` };
    await this.store.mutate((s) => {
      const net = this.network(s, id, ctx);
      const eps = s.Endpoints.filter((e) => sameGuid(e.HostComputeNetwork, net.ID));
      if (eps.length) fail('HCN_E_ENTITY_HAS_REFERENCES', ctx, `(${eps.length} endpoint(s) still on network ${net.Name ?? net.ID}: ${eps.slice(0, 3).map((e) => e.Name ?? e.ID).join(', ')}${eps.length > 3 ? ', ...' : ''})`);
      s.Networks = s.Networks.filter((n) => n !== net);
    });
  }

  // ---- endpoints ----------------------------------------------------------------------------

  private endpointV1(s: EmulatorState, e: HostComputeEndpoint): HostComputeEndpoint {
    const net = this.findIn(s.Networks, e.HostComputeNetwork ?? '');
    const ns = e.HostComputeNamespace ? this.findIn(s.Namespaces, e.HostComputeNamespace) : undefined;
    return endpointV2ToV1(e, {
      networkName: net?.Name,
      namespaceIsDefault: ns ? String(ns.Type).toLowerCase() === 'hostdefault' : undefined,
    }) as unknown as HostComputeEndpoint;
  }

  async listEndpoints(query?: HostComputeQuery): Promise<HostComputeEndpoint[]> {
    const ctx = { call: 'HcnEnumerateEndpoints' };
    const { filter, v1 } = parseQuery(query, ctx);
    const s = this.store.read();
    const out = this.filterList(s.Endpoints as Doc[], filter, (e, k, v) => {
      if (k === 'virtualnetwork' || k === 'hostcomputenetwork') return sameGuid(e.HostComputeNetwork, v);
      if (k === 'virtualnetworkname') return this.findIn(s.Networks, String(e.HostComputeNetwork ?? ''))?.Name === v;
      if (k === 'isremoteendpoint') return (((e.Flags as number) ?? 0) & 1) === 1 === !!v;
      if (k === 'ipaddress') return ((e.IpConfigurations as IpConfig[]) ?? []).some((c) => sameIp(c.IpAddress, v));
      return undefined;
    }) as HostComputeEndpoint[];
    return v1 ? out.map((e) => this.endpointV1(s, e)) : out;
  }

  async getEndpoint(id: string): Promise<HostComputeEndpoint> {
    return this.endpoint(this.store.read(), id, { call: 'HcnOpenEndpoint', subject: `endpoint ${id}` });
  }

  /** Host ports claimed by local endpoints other than `except`. */
  private claimedPorts(s: EmulatorState, except?: string): Map<string, HostComputeEndpoint> {
    const m = new Map<string, HostComputeEndpoint>();
    for (const e of s.Endpoints) {
      if (except && sameGuid(e.ID, except)) continue;
      if (((e.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0) continue;
      for (const k of portsOf(e.Policies)) m.set(portKey(k), e);
    }
    return m;
  }

  private checkPortCollisions(s: EmulatorState, ports: PortKey[], self: string | undefined, ctx: Ctx): void {
    const claimed = this.claimedPorts(s, self);
    for (const k of ports) {
      // A mapping on every host address (no VIP) collides with one on a specific address, and vice versa.
      const owner = claimed.get(portKey(k)) ?? (k.vip ? claimed.get(portKey({ ...k, vip: '' })) : [...claimed.entries()].find(([key]) => key.startsWith(`${k.protocol}/${k.port}/`))?.[1]);
      if (owner) fail('HCN_E_PORT_ALREADY_EXISTS', ctx, `(host port ${k.port}/${k.protocol === 6 ? 'TCP' : k.protocol === 17 ? 'UDP' : k.protocol}${k.vip ? ' on ' + k.vip : ''} is already mapped by endpoint ${owner.Name ?? owner.ID})`);
    }
  }

  async createEndpoint(networkId: string, doc: HostComputeEndpoint): Promise<HostComputeEndpoint> {
    const ctx: Ctx = { call: 'HcnCreateEndpoint', subject: `endpoint ${doc?.Name ?? ''} on network ${networkId}`.replace('  ', ' ') };
    if (!doc || typeof doc !== 'object') fail('HCN_E_INVALID_JSON', ctx, '(the endpoint document must be a JSON object)');
    let input = normalizeKeys(clone(doc)) as HostComputeEndpoint;
    if (looksLikeV1Endpoint(input)) input = endpointV1ToV2(input as never);
    return this.store.mutate((s) => {
      const version = this.versionOf(s);
      const net = this.network(s, networkId, ctx, 'HCN_E_NETWORK_NOT_FOUND');
      if (input.HostComputeNetwork !== undefined && input.HostComputeNetwork !== '' && !sameGuid(input.HostComputeNetwork, net.ID)) {
        fail('E_INVALIDARG', ctx, `(HostComputeNetwork ${input.HostComputeNetwork} differs from the network the endpoint is created on, ${net.ID})`);
      }
      if (input.HostComputeNamespace) fail('E_INVALIDARG', ctx, '(HostComputeNamespace is read only: add the endpoint to a namespace with HcnModifyNamespace)');
      const id = this.assignId(input.ID, s.Endpoints, 'endpoint', ctx);
      const remote = ((input.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0;

      const ipConfigs = this.assignAddresses(s, net, input.IpConfigurations, remote, ctx);
      for (const r of input.Routes ?? []) {
        if (r.NextHop && !parseIp(r.NextHop)) fail('E_INVALIDARG', ctx, `(route NextHop "${r.NextHop}" is not an IP address)`);
      }
      let mac = input.MacAddress;
      if (mac !== undefined && mac !== '') {
        if (!isMac(mac)) fail('E_INVALIDARG', ctx, `(MacAddress "${mac}" is not a MAC address such as 00-15-5D-01-02-03)`);
      } else {
        mac = this.newMac(s);
      }
      const { policies, ports } = checkEndpointPolicies(input.Policies, version, ctx);
      if (!remote) this.checkPortCollisions(s, ports, undefined, ctx);

      const ep: HostComputeEndpoint = { ID: id, Name: input.Name, HostComputeNetwork: net.ID, ...input };
      Object.assign(ep, { ID: id, HostComputeNetwork: net.ID, MacAddress: mac });
      if (ep.Name === undefined) delete ep.Name;
      if (ipConfigs.length) ep.IpConfigurations = ipConfigs;
      else delete ep.IpConfigurations;
      if (policies.length) ep.Policies = policies as HostComputeEndpoint['Policies'];
      else delete ep.Policies;
      delete ep.State;
      ep.SchemaVersion = { ...SCHEMA_V2 };
      s.Endpoints.push(ep);
      return clone(ep);
    });
  }

  /** Checks the requested addresses and assigns one from the network's subnet when none is given. */
  private assignAddresses(s: EmulatorState, net: HostComputeNetwork, requested: IpConfig[] | undefined, remote: boolean, ctx: Ctx): IpConfig[] {
    if (requested !== undefined && !Array.isArray(requested)) fail('E_INVALIDARG', ctx, '(IpConfigurations must be an array)');
    const subnets = subnetsOf(net);
    const used = new Map<string, HostComputeEndpoint>();
    for (const e of s.Endpoints) {
      if (!sameGuid(e.HostComputeNetwork, net.ID)) continue;
      for (const c of e.IpConfigurations ?? []) {
        const ip = parseIp(c.IpAddress);
        if (ip) used.set(`${ip.family}/${ip.value}`, e);
      }
    }
    const out: IpConfig[] = [];
    const configs = requested && requested.length ? requested : remote || !subnets.length ? [] : [{}];
    for (const c of configs) {
      if (c.IpAddress === undefined || c.IpAddress === '') {
        if (remote) fail('E_INVALIDARG', ctx, '(a remote endpoint needs its IpAddress)');
        const info = subnets.find((x) => x.cidr.family === 4) ?? subnets[0];
        if (!info) {
          out.push({ ...c });
          continue;
        }
        const taken = new Set<bigint>();
        for (const key of used.keys()) if (key.startsWith(`${info.cidr.family}/`)) taken.add(BigInt(key.slice(2)));
        for (const o of out) {
          const ip = parseIp(o.IpAddress);
          if (ip) taken.add(ip.value);
        }
        const v = nextFree(info.cidr, taken, info.reserveGateway ? info.gateway : undefined);
        if (v === undefined) fail('HCN_E_ADDR_INVALID_OR_RESERVED', ctx, `(no free address left in subnet ${info.subnet.IpAddressPrefix})`);
        out.push({ ...c, IpAddress: formatIp(info.cidr.family, v), PrefixLength: c.PrefixLength ?? info.cidr.prefix });
        continue;
      }
      const ip = parseIp(c.IpAddress);
      if (!ip) fail('HCN_E_INVALID_IP', ctx, `(IpAddress "${c.IpAddress}" is not an IP address)`);
      const owner = used.get(`${ip.family}/${ip.value}`);
      if (owner) fail('HCN_E_ADDR_INVALID_OR_RESERVED', ctx, `(${c.IpAddress} is already used by endpoint ${owner.Name ?? owner.ID})`);
      if (out.some((o) => sameIp(o.IpAddress, c.IpAddress))) fail('HCN_E_ADDR_INVALID_OR_RESERVED', ctx, `(${c.IpAddress} is listed twice)`);
      const info = subnets.find((x) => contains(x.cidr, ip));
      if (remote) {
        // Remote endpoints stand for pods on other nodes: their addresses lie outside the local subnets.
        out.push({ ...c });
        continue;
      }
      if (!info) {
        fail('HCN_E_INVALID_IP', ctx, `(${c.IpAddress} is not in any subnet of network ${net.Name ?? net.ID}: ${subnets.map((x) => x.subnet.IpAddressPrefix).join(', ') || 'it has none'})`);
      }
      if (isReserved(info.cidr, ip, info.reserveGateway ? info.gateway : undefined)) {
        fail('HCN_E_ADDR_INVALID_OR_RESERVED', ctx, `(${c.IpAddress} is the network, broadcast or gateway address of ${info.subnet.IpAddressPrefix})`);
      }
      out.push({ ...c, PrefixLength: c.PrefixLength ?? info.cidr.prefix });
    }
    return out;
  }

  private newMac(s: EmulatorState): string {
    const used = new Set(s.Endpoints.map((e) => (e.MacAddress ? macKey(e.MacAddress) : '')));
    for (;;) {
      const b = randomBytes(3);
      const mac = ['00', '15', '5D', ...[...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase())].join('-');
      if (!used.has(macKey(mac))) return mac;
    }
  }

  async modifyEndpoint(id: string, request: ModifyEndpointRequest): Promise<HostComputeEndpoint> {
    const ctx: Ctx = { call: 'HcnModifyEndpoint', subject: `endpoint ${id}` };
    const req = normalizeKeys(clone(request)) as ModifyEndpointRequest;
    return this.store.mutate((s) => {
      const ep = this.endpoint(s, id, ctx);
      const rt = String(req?.ResourceType ?? '').toLowerCase();
      const op = String(req?.RequestType ?? '').toLowerCase();
      if (rt === 'port') fail('HCN_E_REQUEST_UNSUPPORTED', ctx, '(Port requests attach a VM NIC; the emulated host has no virtual machines)');
      if (rt !== 'policy') fail('E_INVALIDARG', ctx, `(ResourceType "${String(req?.ResourceType)}" is not one of Policy, Port)`);
      const { policies } = checkEndpointPolicies(getCI((req.Settings ?? {}) as Doc, 'Policies') ?? [], this.versionOf(s), ctx);
      const next = this.applyPolicyChange(ep.Policies ?? [], policies, op, ctx) as HostComputeEndpoint['Policies'];
      const remote = ((ep.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0;
      if (!remote) this.checkPortCollisions(s, portsOf(next), ep.ID, ctx);
      checkEndpointPolicies(next, this.versionOf(s), ctx);
      if (next && next.length) ep.Policies = next;
      else delete ep.Policies;
      return clone(ep);
    });
  }

  async deleteEndpoint(id: string): Promise<void> {
    const ctx: Ctx = { call: 'HcnDeleteEndpoint', subject: `endpoint ${id}` };
    await this.store.mutate((s) => {
      const ep = this.endpoint(s, id, ctx);
      // Deleting an endpoint takes it out of its namespace (HNS does the detach itself).
      for (const ns of s.Namespaces) {
        ns.Resources = (ns.Resources ?? []).filter((r) => !(String(r.Type).toLowerCase() === 'endpoint' && sameGuid(r.Data.ID ?? r.Data.Id, ep.ID)));
      }
      s.Endpoints = s.Endpoints.filter((e) => e !== ep);
    });
  }

  // ---- namespaces ---------------------------------------------------------------------------

  async listNamespaces(query?: HostComputeQuery): Promise<HostComputeNamespace[]> {
    const ctx = { call: 'HcnEnumerateNamespaces' };
    const { filter, v1 } = parseQuery(query, ctx);
    const s = this.store.read();
    const out = this.filterList(s.Namespaces as Doc[], filter, (n, k, v) => {
      if (k === 'isdefault') return (String(n.Type).toLowerCase() === 'hostdefault') === !!v;
      if (k === 'type') return typeof v === 'string' && String(n.Type).toLowerCase() === v.toLowerCase();
      if (k === 'namespaceid' || k === 'compartmentid') return n.NamespaceId === Number(v);
      return undefined;
    }) as HostComputeNamespace[];
    return v1 ? (out.map(namespaceV2ToV1) as unknown as HostComputeNamespace[]) : out;
  }

  async getNamespace(id: string): Promise<HostComputeNamespace> {
    return this.namespace(this.store.read(), id, { call: 'HcnOpenNamespace', subject: `namespace ${id}` });
  }

  async createNamespace(doc: HostComputeNamespace): Promise<HostComputeNamespace> {
    const ctx: Ctx = { call: 'HcnCreateNamespace', subject: 'namespace' };
    const input = normalizeKeys(clone(doc ?? {})) as HostComputeNamespace;
    return this.store.mutate((s) => {
      const type = input.Type === undefined ? 'Host' : NAMESPACE_TYPES.find((t) => t.toLowerCase() === String(input.Type).toLowerCase());
      if (!type) fail('E_INVALIDARG', ctx, `(Type "${String(input.Type)}" must be one of ${NAMESPACE_TYPES.join(', ')})`);
      if (type === 'HostDefault' && s.Namespaces.some((n) => String(n.Type).toLowerCase() === 'hostdefault')) {
        fail('ERROR_OBJECT_ALREADY_EXISTS', ctx, '(the host already has its HostDefault namespace)');
      }
      if (type === 'Guest' || type === 'GuestDefault') fail('HCN_E_REQUEST_UNSUPPORTED', ctx, `(${type} namespaces live in a utility VM; the emulated host runs process-isolated containers only)`);
      if (input.Resources?.length) fail('E_INVALIDARG', ctx, '(Resources are added with HcnModifyNamespace, not on create)');
      const id = this.assignId(input.ID, s.Namespaces, 'namespace', ctx);
      const ns: HostComputeNamespace = {
        ...input,
        ID: id,
        NamespaceId: s.Host.NextNamespaceId++,
        NamespaceGuid: id,
        Type: type,
        Resources: [],
        SchemaVersion: { ...SCHEMA_V2 },
      };
      s.Namespaces.push(ns);
      return clone(ns);
    });
  }

  async modifyNamespace(id: string, request: ModifyNamespaceRequest): Promise<HostComputeNamespace> {
    const ctx: Ctx = { call: 'HcnModifyNamespace', subject: `namespace ${id}` };
    const req = normalizeKeys(clone(request)) as ModifyNamespaceRequest;
    return this.store.mutate((s) => {
      const ns = this.namespace(s, id, ctx);
      const rt = String(req?.ResourceType ?? '').toLowerCase();
      const op = String(req?.RequestType ?? '').toLowerCase();
      const settings = (req?.Settings ?? {}) as Doc;
      ns.Resources ??= [];
      if (op !== 'add' && op !== 'remove') fail('E_INVALIDARG', ctx, `(RequestType "${String(req?.RequestType)}" must be Add or Remove)`);
      if (rt === 'endpoint') {
        const epId = getCI<string>(settings, 'EndpointId');
        if (!isGuid(epId)) fail('HCN_E_GUID_CONVERSION_FAILURE', ctx, `(Settings.EndpointId "${String(epId)}" is not a GUID)`);
        const ep = this.endpoint(s, epId, { ...ctx, subject: `namespace ${id} endpoint ${epId}` }, 'HCN_E_ENDPOINT_NOT_FOUND');
        const ectx = { ...ctx, subject: `namespace ${ns.ID} endpoint ${ep.ID}` };
        if (op === 'add') {
          if (((ep.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0) fail('HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION', ectx, '(a remote endpoint cannot be added to a namespace)');
          if (ep.HostComputeNamespace && sameGuid(ep.HostComputeNamespace, ns.ID)) fail('HCN_E_ENDPOINT_ALREADY_ATTACHED', ectx);
          if (ep.HostComputeNamespace) fail('HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS', ectx, `(it is in namespace ${ep.HostComputeNamespace})`);
          ep.HostComputeNamespace = ns.ID;
          ns.Resources.push({ Type: 'Endpoint', Data: { ID: ep.ID } });
        } else {
          if (!ep.HostComputeNamespace || !sameGuid(ep.HostComputeNamespace, ns.ID)) fail('HCN_E_ENDPOINT_NOT_ATTACHED', ectx, `(it is ${ep.HostComputeNamespace ? 'in namespace ' + ep.HostComputeNamespace : 'in no namespace'})`);
          delete ep.HostComputeNamespace;
          ns.Resources = ns.Resources.filter((r) => !(String(r.Type).toLowerCase() === 'endpoint' && sameGuid(r.Data.ID ?? r.Data.Id, ep.ID)));
        }
      } else if (rt === 'container') {
        const cid = getCI<string>(settings, 'ContainerId');
        if (typeof cid !== 'string' || cid === '') fail('E_INVALIDARG', ctx, '(Settings.ContainerId must name the container)');
        const has = (r: NamespaceResource) => String(r.Type).toLowerCase() === 'container' && String(r.Data.ID ?? r.Data.Id ?? '').toLowerCase() === cid.toLowerCase();
        if (op === 'add') {
          if (ns.Resources.some(has)) fail('ERROR_OBJECT_ALREADY_EXISTS', ctx, `(container ${cid} is already in the namespace)`);
          ns.Resources.push({ Type: 'Container', Data: { ID: cid } });
        } else {
          if (!ns.Resources.some(has)) fail('ERROR_NOT_FOUND', ctx, `(container ${cid} is not in the namespace)`);
          ns.Resources = ns.Resources.filter((r) => !has(r));
        }
      } else {
        fail('E_INVALIDARG', ctx, `(ResourceType "${String(req?.ResourceType)}" must be Endpoint or Container)`);
      }
      return clone(ns);
    });
  }

  async deleteNamespace(id: string): Promise<void> {
    const ctx: Ctx = { call: 'HcnDeleteNamespace', subject: `namespace ${id}` };
    await this.store.mutate((s) => {
      const ns = this.namespace(s, id, ctx);
      if (String(ns.Type).toLowerCase() === 'hostdefault') fail('E_INVALIDARG', ctx, '(the host default namespace cannot be deleted)');
      // Endpoints left in a deleted namespace go back to being unattached (containerd deletes the
      // namespace after CNI DEL, but a crashed pod may skip DEL).
      for (const e of s.Endpoints) if (e.HostComputeNamespace && sameGuid(e.HostComputeNamespace, ns.ID)) delete e.HostComputeNamespace;
      s.Namespaces = s.Namespaces.filter((n) => n !== ns);
    });
  }

  async attachEndpoint(namespaceId: string, endpointId: string, _options?: AttachOptions): Promise<void> {
    await this.modifyNamespace(namespaceId, { ResourceType: 'Endpoint', RequestType: 'Add', Settings: { EndpointId: endpointId } });
  }

  async detachEndpoint(namespaceId: string, endpointId: string): Promise<void> {
    await this.modifyNamespace(namespaceId, { ResourceType: 'Endpoint', RequestType: 'Remove', Settings: { EndpointId: endpointId } });
  }

  // ---- load balancers -----------------------------------------------------------------------

  async listLoadBalancers(query?: HostComputeQuery): Promise<HostComputeLoadBalancer[]> {
    const ctx = { call: 'HcnEnumerateLoadBalancers' };
    const { filter, v1 } = parseQuery(query, ctx);
    const s = this.store.read();
    const out = this.filterList(s.LoadBalancers as Doc[], filter, (lb, k, v) => {
      if (k === 'hostcomputeendpoints' || k === 'endpoint') return ((lb.HostComputeEndpoints as string[]) ?? []).some((e) => sameGuid(e, v));
      if (k === 'frontendvips' || k === 'vip') return ((lb.FrontendVIPs as string[]) ?? []).some((x) => sameIp(x, v));
      return undefined;
    }) as HostComputeLoadBalancer[];
    return v1 ? (out.map(loadBalancerToPolicyList) as unknown as HostComputeLoadBalancer[]) : out;
  }

  async getLoadBalancer(id: string): Promise<HostComputeLoadBalancer> {
    return this.loadBalancer(this.store.read(), id, { call: 'HcnOpenLoadBalancer', subject: `load balancer ${id}` });
  }

  /** Validates a load balancer document against the state; returns it with canonical endpoint IDs. */
  private checkLoadBalancer(s: EmulatorState, input: HostComputeLoadBalancer, self: string | undefined, ctx: Ctx): HostComputeLoadBalancer {
    const version = this.versionOf(s);
    const eps = input.HostComputeEndpoints;
    if (!Array.isArray(eps) || eps.length === 0) fail('E_INVALIDARG', ctx, '(HostComputeEndpoints must list at least one endpoint; delete the load balancer instead of emptying it)');
    const endpoints = eps.map((e) => this.endpoint(s, String(e), ctx, 'HCN_E_ENDPOINT_NOT_FOUND').ID!);
    if (new Set(endpoints).size !== endpoints.length) fail('E_INVALIDARG', ctx, '(HostComputeEndpoints lists an endpoint twice)');
    const pms = input.PortMappings ?? [];
    if (!Array.isArray(pms) || pms.length === 0) fail('E_INVALIDARG', ctx, '(PortMappings must have at least one mapping)');
    for (const [i, pm] of pms.entries()) {
      if (typeof pm.Protocol !== 'number' || !Number.isInteger(pm.Protocol) || pm.Protocol < 0 || pm.Protocol > 255) fail('E_INVALIDARG', ctx, `(PortMappings[${i}].Protocol must be a protocol number, 6 TCP or 17 UDP)`);
      if (!pm.InternalPort) fail('HCN_E_INVALID_INTERNAL_PORT', ctx, `(PortMappings[${i}].InternalPort must be set)`);
      for (const k of ['InternalPort', 'ExternalPort'] as const) {
        const v = pm[k];
        if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535)) fail('E_INVALIDARG', ctx, `(PortMappings[${i}].${k} must be a port number)`);
      }
      if (pm.DistributionType === 2) requireFeature(version, 'SessionAffinity', 'DistributionType 2 (source-IP session affinity)', ctx);
      if (pm.DistributionType !== undefined && ![0, 1, 2].includes(pm.DistributionType)) fail('E_INVALIDARG', ctx, `(PortMappings[${i}].DistributionType must be 0, 1 or 2)`);
    }
    const flags = input.Flags ?? 0;
    if (flags & 1) requireFeature(version, 'DSR', 'direct server return (Flags 1)', ctx);
    if (flags & 2) requireFeature(version, 'IPv6DualStack', 'an IPv6 load balancer (Flags 2)', ctx);
    for (const v of input.FrontendVIPs ?? []) if (!parseIp(v)) fail('E_INVALIDARG', ctx, `(FrontendVIPs entry "${v}" is not an IP address)`);
    if (input.SourceVIP !== undefined && input.SourceVIP !== '' && !parseIp(input.SourceVIP)) fail('E_INVALIDARG', ctx, `(SourceVIP "${input.SourceVIP}" is not an IP address)`);
    if (input.HostComputeNetwork) this.network(s, input.HostComputeNetwork, ctx, 'HCN_E_NETWORK_NOT_FOUND');
    // Two load balancers may not claim the same frontend (kube-proxy sees 0x803b0013 for duplicates).
    const vipKey = (l: HostComputeLoadBalancer) => (l.FrontendVIPs ?? []).map((v) => parseIp(v)!).map((ip) => formatIp(ip.family, ip.value)).sort().join(',');
    const mine = vipKey(input);
    for (const other of s.LoadBalancers) {
      if (self && sameGuid(other.ID, self)) continue;
      if (vipKey(other) !== mine) continue;
      for (const pm of pms) {
        const clash = (other.PortMappings ?? []).find((o) => o.Protocol === pm.Protocol && o.ExternalPort === pm.ExternalPort && ((o.Flags ?? 0) & 1) === ((pm.Flags ?? 0) & 1));
        if (clash) fail('HCN_E_PORT_ALREADY_EXISTS', ctx, `(load balancer ${other.ID} already serves ${mine || 'all host addresses'} port ${pm.ExternalPort}/${pm.Protocol})`);
      }
    }
    return { ...input, HostComputeEndpoints: endpoints };
  }

  async createLoadBalancer(doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
    const ctx: Ctx = { call: 'HcnCreateLoadBalancer', subject: 'load balancer' };
    if (!doc || typeof doc !== 'object') fail('HCN_E_INVALID_JSON', ctx, '(the load balancer document must be a JSON object)');
    const input = normalizeKeys(clone(doc)) as HostComputeLoadBalancer;
    return this.store.mutate((s) => {
      const id = this.assignId(input.ID, s.LoadBalancers, 'load balancer', ctx);
      const lb = { ID: id, ...this.checkLoadBalancer(s, input, undefined, ctx) };
      lb.ID = id;
      lb.SchemaVersion = { ...SCHEMA_V2 };
      delete lb.State;
      s.LoadBalancers.push(lb);
      return clone(lb);
    });
  }

  async modifyLoadBalancer(id: string, doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
    const ctx: Ctx = { call: 'HcnModifyLoadBalancer', subject: `load balancer ${id}` };
    const input = normalizeKeys(clone(doc ?? {})) as HostComputeLoadBalancer;
    return this.store.mutate((s) => {
      requireFeature(this.versionOf(s), 'ModifyLoadbalancer', 'modifying a load balancer in place', ctx);
      const current = this.loadBalancer(s, id, ctx);
      if (input.ID !== undefined && !sameGuid(input.ID, current.ID)) fail('E_INVALIDARG', ctx, `(document ID ${input.ID} differs from ${current.ID})`);
      const lb = this.checkLoadBalancer(s, input, current.ID, ctx);
      lb.ID = current.ID;
      lb.SchemaVersion = { ...SCHEMA_V2 };
      s.LoadBalancers[s.LoadBalancers.indexOf(current)] = lb;
      return clone(lb);
    });
  }

  async deleteLoadBalancer(id: string): Promise<void> {
    const ctx: Ctx = { call: 'HcnDeleteLoadBalancer', subject: `load balancer ${id}` };
    await this.store.mutate((s) => {
      const lb = this.loadBalancer(s, id, ctx);
      s.LoadBalancers = s.LoadBalancers.filter((l) => l !== lb);
    });
  }

  // ---- v1-only state ------------------------------------------------------------------------

  /** Atomically edits an endpoint's SharedContainers (the v1 / HCS container attach record). */
  async updateSharedContainers(endpointId: string, call: string, fn: (list: string[]) => string[]): Promise<string[]> {
    const ctx: Ctx = { call, subject: `endpoint ${endpointId}` };
    return this.store.mutate((s) => {
      const ep = this.endpoint(s, endpointId, ctx);
      const next = fn([...(ep.Health?.Extra?.SharedContainers ?? [])]);
      ep.Health ??= {};
      ep.Health.Extra ??= {};
      if (next.length) ep.Health.Extra.SharedContainers = next;
      else delete ep.Health.Extra.SharedContainers;
      if (!Object.keys(ep.Health.Extra).length) delete ep.Health.Extra;
      if (!Object.keys(ep.Health).length) delete ep.Health;
      return next;
    });
  }

  async close(): Promise<void> {
    // Nothing is held open between calls: every call reads or locks the state file itself.
  }
}

function portKey(k: PortKey): string {
  return `${k.protocol}/${k.port}/${k.vip}`;
}

/** v1-only records (SharedContainers, ROUTE policy lists) kept in the emulator's own state file. */
class MemoryV1SideStore implements V1SideStore {
  readonly embedded = true;

  constructor(private readonly hns: MemoryHns) {}

  async sharedContainers(endpointId: string): Promise<string[]> {
    const ep = await this.hns.getEndpoint(endpointId);
    return [...(ep.Health?.Extra?.SharedContainers ?? [])];
  }

  async updateSharedContainers(endpointId: string, call: string, fn: (list: string[]) => string[]): Promise<string[]> {
    return this.hns.updateSharedContainers(endpointId, call, fn);
  }

  async listPolicyLists() {
    return this.hns.store.read().PolicyLists;
  }

  async createPolicyList(pl: import('../../hns').HnsV1PolicyList) {
    return this.hns.store.mutate((s) => {
      const id = pl.ID && isGuid(pl.ID) ? canonicalGuid(pl.ID) : newGuid();
      if (s.PolicyLists.some((p) => sameGuid(p.ID, id)) || s.LoadBalancers.some((l) => sameGuid(l.ID, id))) {
        fail('ERROR_ALREADY_EXISTS', { call: 'POST /policylists/', subject: `policy list ${id}` });
      }
      for (const ref of pl.References ?? []) {
        const m = /^\/endpoints\/([^/]+)\/?$/i.exec(String(ref));
        if (!m || !s.Endpoints.some((e) => sameGuid(e.ID, m[1]))) {
          fail('HCN_E_ENDPOINT_NOT_FOUND', { call: 'POST /policylists/', subject: `policy list reference ${String(ref)}` });
        }
      }
      const stored = { ...pl, ID: id };
      s.PolicyLists.push(stored);
      return clone(stored);
    });
  }

  async deletePolicyList(id: string): Promise<boolean> {
    return this.hns.store.mutate((s) => {
      const before = s.PolicyLists.length;
      s.PolicyLists = s.PolicyLists.filter((p) => !sameGuid(p.ID, id));
      return s.PolicyLists.length !== before;
    });
  }
}

export { ConversionError, HnsError };
