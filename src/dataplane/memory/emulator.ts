/**
 * The HNS emulator: a HostNetworkService with HNS's semantics and HRESULTs, state in one shared file.
 * Every rule it enforces is written down in docs/emulator.md with the reference it comes from.
 */
import * as path from 'node:path';
import {
  DEFAULT_EMULATED_VERSION, EndpointFlags, NAMESPACE_TYPES, SCHEMA_V2, featuresFor, getCI, normalizeKeys,
  policyTypeIs,
  type HnsFeatures, type HnsVersion, type HostComputeEndpoint, type HostComputeLoadBalancer, type HostComputeNamespace,
  type HostComputeNetwork, type HostComputeQuery, type IpConfig, type ModifyEndpointRequest, type ModifyNamespaceRequest,
  type ModifyNetworkRequest, type NamespaceResource, type Subnet,
} from '../../hns';
import {
  endpointV2ToV1, endpointV1ToV2, loadBalancerToPolicyList, looksLikeV1Endpoint, looksLikeV1Network,
  namespaceV2ToV1, networkV1ToV2, networkV2ToV1,
} from '../../hns/convert';
import { policyDescriptor, policyTypesOf } from '../../hns/policies';
import type { AttachOptions, HnsV1Api, HostNetworkService } from '../types';
import { V1OverV2 } from '../v1-over-v2';
import { assignAddresses, checkPortCollisions, newMac } from './addressing';
import { isMac, parseIp, sameIpText as sameIp } from '../../net';
import { checkLoadBalancer } from './loadbalancer';
import {
  assignId, clone, endpointIn, findById, guidFromText, loadBalancerIn, namespaceIn, networkIn, newGuid, sameGuid,
} from './lookup';
import { applyPolicyRequest } from '../../hns/modify';
import { filterList, parseQuery } from './query';
import { StateStore, type EmulatedHost, type EmulatorState } from './state';
import { modifyIpSubnets, modifySubnets } from './subnets';
import { MemoryV1SideStore } from './v1-side';
import {
  canonicalGuid, checkEndpointPolicies, checkNetworkPolicies, checkNetworkType, fail, isGuid, portsOf, requireFeature,
  subnetsOf, type Ctx,
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
        // Derived from the state path so that reads before the file exists agree on the host's ID.
        const id = guidFromText(`HostDefault:${path.resolve(opts.statePath)}`);
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

  /** Host facts in effect for this process: explicit options (env) win over what the state file recorded. */
  private hostOf(state: EmulatorState): EmulatedHost {
    return {
      ...state.Host,
      Version: this.versionOf(state),
      ManagementIP: this.opts.managementIp ?? state.Host.ManagementIP,
      DrMacAddress: this.opts.drMacAddress ?? state.Host.DrMacAddress,
    };
  }

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
    return clone(this.hostOf(this.store.read()));
  }

  // ---- lookups ------------------------------------------------------------------------------








  // ---- networks -----------------------------------------------------------------------------

  async listNetworks(query?: HostComputeQuery): Promise<HostComputeNetwork[]> {
    const ctx = { call: 'HcnEnumerateNetworks' };
    const { filter, v1 } = parseQuery(query, ctx);
    const s = this.store.read();
    const out = filterList(s.Networks as Doc[], filter, (n, k, v) => {
      if (k === 'type') return typeof v === 'string' && String(n.Type ?? 'NAT').toLowerCase() === v.toLowerCase();
      return undefined;
    }) as HostComputeNetwork[];
    return clone(v1 ? (out.map(networkV2ToV1) as unknown as HostComputeNetwork[]) : out);
  }

  async getNetwork(id: string): Promise<HostComputeNetwork> {
    return clone(networkIn(this.store.read(), id, { call: 'HcnOpenNetwork', subject: `network ${id}` }));
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
      const id = assignId(input.ID, s.Networks, 'network', ctx);
      if (input.Ipams !== undefined && !Array.isArray(input.Ipams)) fail('E_INVALIDARG', ctx, '(Ipams must be an array)');
      for (const ipam of input.Ipams ?? []) {
        if (ipam.Type !== undefined && !['static', 'dhcp'].includes(String(ipam.Type).toLowerCase())) fail('E_INVALIDARG', ctx, `(Ipams Type "${ipam.Type}" must be Static or Dhcp)`);
        if (ipam.Subnets !== undefined && !Array.isArray(ipam.Subnets)) fail('E_INVALIDARG', ctx, '(Ipams[].Subnets must be an array)');
        // HNS gives every subnet an ID (v1 output shows Subnets[].ID).
        ipam.Subnets = ipam.Subnets?.map((sub) => (sub.ID === undefined ? { ID: newGuid(), ...sub } : sub));
        for (const sub of ipam.Subnets ?? []) {
          for (const p of sub.Policies ?? []) {
            const d = policyDescriptor('subnet', p.Type);
            if (!d) fail('HCN_E_INVALID_POLICY_TYPE', ctx, `(subnet policy "${String(p.Type)}" must be ${policyTypesOf('subnet').join(' or ')})`);
            if (typeof getCI(p.Settings, 'IsolationId') !== 'number') fail('HCN_E_INVALID_POLICY', ctx, `(subnet ${sub.IpAddressPrefix} ${p.Type} needs a numeric IsolationId)`);
            p.Type = d.type as 'VSID' | 'VLAN';
          }
        }
      }
      subnetsOf(input, ctx);
      const policies = checkNetworkPolicies(input.Policies, version, ctx);
      // HNS publishes the host's provider address (and, on Overlay, the distributed router MAC) on the
      // networks that need them; flannel waits for these before it uses the network.
      const host = this.hostOf(s);
      if (type === 'Overlay' || type === 'L2Bridge') {
        if (!policies.some((p) => policyTypeIs(p, 'ProviderAddress'))) {
          policies.push({ Type: 'ProviderAddress', Settings: { ProviderAddress: host.ManagementIP } });
        }
        if (type === 'Overlay' && !policies.some((p) => policyTypeIs(p, 'DrMacAddress'))) {
          policies.push({ Type: 'DrMacAddress', Settings: { Address: host.DrMacAddress } });
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
    const req = normalizeKeys(clone(request)) as ModifyNetworkRequest;
    const ctx: Ctx = { call: 'HcnModifyNetwork', subject: `network ${id}`, requestType: String(req?.RequestType) };
    return this.store.mutate((s) => {
      const net = networkIn(s, id, ctx);
      const version = this.versionOf(s);
      const rt = String(req?.ResourceType ?? '').toLowerCase();
      const op = String(req?.RequestType ?? '').toLowerCase();
      const settings = (req?.Settings ?? {}) as Doc;
      switch (rt) {
        case 'policy': {
          const incoming = checkNetworkPolicies(getCI(settings, 'Policies') ?? [], version, ctx);
          net.Policies = applyPolicyRequest(net.Policies ?? [], incoming, req.RequestType ?? '', ctx, { conflicts: (p, existing) => {
            // One route per remote prefix: flannel removes the old one before adding the new one.
            if (!policyTypeIs(p, 'RemoteSubnetRoute')) return false;
            const prefix = String(getCI(p.Settings, 'DestinationPrefix') ?? '').toLowerCase();
            return existing.some((e) => policyTypeIs(e, 'RemoteSubnetRoute') && String(getCI(e.Settings, 'DestinationPrefix') ?? '').toLowerCase() === prefix);
          } }) as HostComputeNetwork['Policies'];
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
          modifySubnets(s, net, op, getCI<Subnet[]>(settings, 'Subnets') ?? [], ctx);
          break;
        case 'ipsubnet':
          modifyIpSubnets(net, op, settings, ctx);
          break;
        default:
          fail('E_INVALIDARG', ctx, `(ResourceType "${String(req?.ResourceType)}" is not one of Policy, DNS, Extension, Subnet, IPSubnet)`);
      }
      return clone(net);
    });
  }




  async deleteNetwork(id: string): Promise<void> {
    const ctx: Ctx = { call: 'HcnDeleteNetwork', subject: `network ${id}` };
    await this.store.mutate((s) => {
      const net = networkIn(s, id, ctx);
      const eps = s.Endpoints.filter((e) => sameGuid(e.HostComputeNetwork, net.ID));
      if (eps.length) fail('HCN_E_ENTITY_HAS_REFERENCES', ctx, `(${eps.length} endpoint(s) still on network ${net.Name ?? net.ID}: ${eps.slice(0, 3).map((e) => e.Name ?? e.ID).join(', ')}${eps.length > 3 ? ', ...' : ''})`);
      s.Networks = s.Networks.filter((n) => n !== net);
    });
  }

  // ---- endpoints ----------------------------------------------------------------------------

  private endpointV1(s: EmulatorState, e: HostComputeEndpoint): HostComputeEndpoint {
    const net = findById(s.Networks, e.HostComputeNetwork ?? '');
    const ns = e.HostComputeNamespace ? findById(s.Namespaces, e.HostComputeNamespace) : undefined;
    return endpointV2ToV1(e, {
      networkName: net?.Name,
      namespaceIsDefault: ns ? String(ns.Type).toLowerCase() === 'hostdefault' : undefined,
    }) as unknown as HostComputeEndpoint;
  }

  async listEndpoints(query?: HostComputeQuery): Promise<HostComputeEndpoint[]> {
    const ctx = { call: 'HcnEnumerateEndpoints' };
    const { filter, v1 } = parseQuery(query, ctx);
    const s = this.store.read();
    const out = filterList(s.Endpoints as Doc[], filter, (e, k, v) => {
      if (k === 'virtualnetwork' || k === 'hostcomputenetwork') return sameGuid(e.HostComputeNetwork, v);
      if (k === 'virtualnetworkname') return findById(s.Networks, String(e.HostComputeNetwork ?? ''))?.Name === v;
      if (k === 'isremoteendpoint') return (((e.Flags as number) ?? 0) & 1) === 1 === !!v;
      if (k === 'ipaddress') return ((e.IpConfigurations as IpConfig[]) ?? []).some((c) => sameIp(c.IpAddress, v));
      return undefined;
    }) as HostComputeEndpoint[];
    return clone(v1 ? out.map((e) => this.endpointV1(s, e)) : out);
  }

  async getEndpoint(id: string): Promise<HostComputeEndpoint> {
    return clone(endpointIn(this.store.read(), id, { call: 'HcnOpenEndpoint', subject: `endpoint ${id}` }));
  }



  async createEndpoint(networkId: string, doc: HostComputeEndpoint): Promise<HostComputeEndpoint> {
    const ctx: Ctx = { call: 'HcnCreateEndpoint', subject: `endpoint ${doc?.Name ?? ''} on network ${networkId}`.replace('  ', ' ') };
    if (!doc || typeof doc !== 'object') fail('HCN_E_INVALID_JSON', ctx, '(the endpoint document must be a JSON object)');
    let input = normalizeKeys(clone(doc)) as HostComputeEndpoint;
    if (looksLikeV1Endpoint(input)) input = endpointV1ToV2(input as never);
    return this.store.mutate((s) => {
      const version = this.versionOf(s);
      const net = networkIn(s, networkId, ctx, 'HCN_E_NETWORK_NOT_FOUND');
      if (input.HostComputeNetwork !== undefined && input.HostComputeNetwork !== '' && !sameGuid(input.HostComputeNetwork, net.ID)) {
        fail('E_INVALIDARG', ctx, `(HostComputeNetwork ${input.HostComputeNetwork} differs from the network the endpoint is created on, ${net.ID})`);
      }
      if (input.HostComputeNamespace) fail('E_INVALIDARG', ctx, '(HostComputeNamespace is read only: add the endpoint to a namespace with HcnModifyNamespace)');
      const id = assignId(input.ID, s.Endpoints, 'endpoint', ctx);
      const remote = ((input.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0;

      const ipConfigs = assignAddresses(s, net, input.IpConfigurations, remote, ctx);
      for (const r of input.Routes ?? []) {
        if (r.NextHop && !parseIp(r.NextHop)) fail('E_INVALIDARG', ctx, `(route NextHop "${r.NextHop}" is not an IP address)`);
      }
      let mac = input.MacAddress;
      if (mac !== undefined && mac !== '') {
        if (!isMac(mac)) fail('E_INVALIDARG', ctx, `(MacAddress "${mac}" is not a MAC address such as 00-15-5D-01-02-03)`);
      } else {
        mac = newMac(s);
      }
      const { policies, ports } = checkEndpointPolicies(input.Policies, version, ctx);
      if (!remote) checkPortCollisions(s, ports, undefined, ctx);

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



  async modifyEndpoint(id: string, request: ModifyEndpointRequest): Promise<HostComputeEndpoint> {
    const ctx: Ctx = { call: 'HcnModifyEndpoint', subject: `endpoint ${id}` };
    const req = normalizeKeys(clone(request)) as ModifyEndpointRequest;
    return this.store.mutate((s) => {
      const ep = endpointIn(s, id, ctx);
      const rt = String(req?.ResourceType ?? '').toLowerCase();
      const op = String(req?.RequestType ?? '').toLowerCase();
      if (rt === 'port') fail('HCN_E_REQUEST_UNSUPPORTED', ctx, '(Port requests attach a VM NIC; the emulated host has no virtual machines)');
      if (rt !== 'policy') fail('E_INVALIDARG', ctx, `(ResourceType "${String(req?.ResourceType)}" is not one of Policy, Port)`);
      const { policies } = checkEndpointPolicies(getCI((req.Settings ?? {}) as Doc, 'Policies') ?? [], this.versionOf(s), ctx);
      const next = applyPolicyRequest(ep.Policies ?? [], policies, req.RequestType ?? '', ctx) as HostComputeEndpoint['Policies'];
      const remote = ((ep.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0;
      if (!remote) checkPortCollisions(s, portsOf(next), ep.ID, ctx);
      checkEndpointPolicies(next, this.versionOf(s), ctx);
      if (next && next.length) ep.Policies = next;
      else delete ep.Policies;
      return clone(ep);
    });
  }

  async deleteEndpoint(id: string): Promise<void> {
    const ctx: Ctx = { call: 'HcnDeleteEndpoint', subject: `endpoint ${id}` };
    await this.store.mutate((s) => {
      const ep = endpointIn(s, id, ctx);
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
    const out = filterList(s.Namespaces as Doc[], filter, (n, k, v) => {
      if (k === 'isdefault') return (String(n.Type).toLowerCase() === 'hostdefault') === !!v;
      if (k === 'type') return typeof v === 'string' && String(n.Type).toLowerCase() === v.toLowerCase();
      if (k === 'namespaceid' || k === 'compartmentid') return n.NamespaceId === Number(v);
      return undefined;
    }) as HostComputeNamespace[];
    return clone(v1 ? (out.map(namespaceV2ToV1) as unknown as HostComputeNamespace[]) : out);
  }

  async getNamespace(id: string): Promise<HostComputeNamespace> {
    return clone(namespaceIn(this.store.read(), id, { call: 'HcnOpenNamespace', subject: `namespace ${id}` }));
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
      const id = assignId(input.ID, s.Namespaces, 'namespace', ctx);
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
      const ns = namespaceIn(s, id, ctx);
      const rt = String(req?.ResourceType ?? '').toLowerCase();
      const op = String(req?.RequestType ?? '').toLowerCase();
      const settings = (req?.Settings ?? {}) as Doc;
      ns.Resources ??= [];
      if (op !== 'add' && op !== 'remove') fail('E_INVALIDARG', ctx, `(RequestType "${String(req?.RequestType)}" must be Add or Remove)`);
      if (rt === 'endpoint') {
        const epId = getCI<string>(settings, 'EndpointId');
        if (!isGuid(epId)) fail('HCN_E_GUID_CONVERSION_FAILURE', ctx, `(Settings.EndpointId "${String(epId)}" is not a GUID)`);
        const ep = endpointIn(s, epId, { ...ctx, subject: `namespace ${id} endpoint ${epId}` }, 'HCN_E_ENDPOINT_NOT_FOUND');
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
      const ns = namespaceIn(s, id, ctx);
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
    const out = filterList(s.LoadBalancers as Doc[], filter, (lb, k, v) => {
      if (k === 'hostcomputeendpoints' || k === 'endpoint') return ((lb.HostComputeEndpoints as string[]) ?? []).some((e) => sameGuid(e, v));
      if (k === 'frontendvips' || k === 'vip') return ((lb.FrontendVIPs as string[]) ?? []).some((x) => sameIp(x, v));
      return undefined;
    }) as HostComputeLoadBalancer[];
    return clone(v1 ? (out.map(loadBalancerToPolicyList) as unknown as HostComputeLoadBalancer[]) : out);
  }

  async getLoadBalancer(id: string): Promise<HostComputeLoadBalancer> {
    return clone(loadBalancerIn(this.store.read(), id, { call: 'HcnOpenLoadBalancer', subject: `load balancer ${id}` }));
  }


  async createLoadBalancer(doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
    const ctx: Ctx = { call: 'HcnCreateLoadBalancer', subject: 'load balancer' };
    if (!doc || typeof doc !== 'object') fail('HCN_E_INVALID_JSON', ctx, '(the load balancer document must be a JSON object)');
    const input = normalizeKeys(clone(doc)) as HostComputeLoadBalancer;
    return this.store.mutate((s) => {
      const id = assignId(input.ID, s.LoadBalancers, 'load balancer', ctx);
      const lb = { ID: id, ...checkLoadBalancer(s, input, undefined, this.versionOf(s), ctx) };
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
      const current = loadBalancerIn(s, id, ctx);
      if (input.ID !== undefined && !sameGuid(input.ID, current.ID)) fail('E_INVALIDARG', ctx, `(document ID ${input.ID} differs from ${current.ID})`);
      const lb = checkLoadBalancer(s, input, current.ID, this.versionOf(s), ctx);
      lb.ID = current.ID;
      lb.SchemaVersion = { ...SCHEMA_V2 };
      s.LoadBalancers[s.LoadBalancers.indexOf(current)] = lb;
      return clone(lb);
    });
  }

  async deleteLoadBalancer(id: string): Promise<void> {
    const ctx: Ctx = { call: 'HcnDeleteLoadBalancer', subject: `load balancer ${id}` };
    await this.store.mutate((s) => {
      const lb = loadBalancerIn(s, id, ctx);
      s.LoadBalancers = s.LoadBalancers.filter((l) => l !== lb);
    });
  }

  // ---- v1-only state ------------------------------------------------------------------------

  /** Atomically edits an endpoint's SharedContainers (the v1 / HCS container attach record). */
  async updateSharedContainers(endpointId: string, call: string, fn: (list: string[]) => string[]): Promise<string[]> {
    const ctx: Ctx = { call, subject: `endpoint ${endpointId}` };
    return this.store.mutate((s) => {
      const ep = endpointIn(s, endpointId, ctx);
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



