/**
 * The HNS emulator: a HostNetworkService with HNS's semantics and HRESULTs, state in one shared file.
 * Every rule it enforces is written down in docs/emulator.md. This class is the facade (host facts, lists and
 * gets, the lock around each mutation); the rules live by concern: networks.ts, endpoints.ts, namespaces.ts,
 * loadbalancer.ts (one resource each), addressing.ts (address and MAC allocation, host ports), policies.ts
 * (policy checks from the registry), subnets.ts, state.ts (the locked state file and crash recovery).
 */
import { EMULATOR_CAPABILITIES } from '../capabilities';
import { MemoryHostRoutes } from './routes';
import { parseEndpointStats, type EndpointStats } from '../../hns/endpoint-stats';
import * as path from 'node:path';
import {
  DEFAULT_EMULATED_VERSION,
  SCHEMA_V2,
  featuresFor,
  normalizeKeys,
  type HnsFeatures,
  type HnsVersion,
  type HostComputeEndpoint,
  type HostComputeLoadBalancer,
  type HostComputeNamespace,
  type HostComputeNetwork,
  type HostComputeQuery,
  type IpConfig,
  type ModifyEndpointRequest,
  type ModifyNamespaceRequest,
  type ModifyNetworkRequest,
} from '../../hns';
import {
  endpointV1ToV2,
  loadBalancerToPolicyList,
  looksLikeV1Endpoint,
  looksLikeV1Network,
  namespaceV2ToV1,
  networkV1ToV2,
  networkV2ToV1,
} from '../../hns/convert';
import { sameIpText as sameIp } from '../../net';
import type { AttachOptions, HnsV1Api, HostNetworkService, HostRouteTable } from '../types';
import { applyLoadBalancersOneByOne, type LoadBalancerBatch, type LoadBalancerBatchResult } from '../lb-batch';
import { V1OverV2 } from '../v1-over-v2';
import { createEndpointIn, deleteEndpointIn, endpointV1, modifyEndpointIn } from './endpoints';
import { createLoadBalancerIn, deleteLoadBalancerIn, modifyLoadBalancerIn } from './loadbalancer';
import { hnsView } from '../hns-view';
import { clone, endpointIn, findById, guidFromText, loadBalancerIn, namespaceIn, networkIn, sameGuid } from './lookup';
import { createNamespaceIn, deleteNamespaceIn, modifyNamespaceIn } from './namespaces';
import { createNetworkIn, deleteNetworkIn, modifyNetworkIn } from './networks';
import { filterList, parseQuery } from './query';
import { StateStore, type EmulatedHost, type EmulatorState, type MutationEnv } from './state';
import { MemoryV1SideStore } from './v1-side';
import { MemoryHcs } from './compute-systems';
import { fail, type Ctx } from './validate';

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
  readonly capabilities = EMULATOR_CAPABILITIES;
  readonly v1: HnsV1Api;
  readonly store: StateStore;
  /** The emulated host's compute systems (HCS): what the v1 container attach hot-adds endpoints to. */
  readonly hcs: MemoryHcs;
  /** The emulated host's route table (what New-NetRoute edits on Windows). */
  readonly hostRoutes: HostRouteTable;
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
    this.hcs = new MemoryHcs(this.store);
    this.v1 = new V1OverV2(this, new MemoryV1SideStore(this), this.hcs);
    this.hostRoutes = new MemoryHostRoutes(this.store);
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

  private env(state: EmulatorState): MutationEnv {
    return { version: this.versionOf(state), host: this.hostOf(state) };
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

  // ---- networks -----------------------------------------------------------------------------

  async listNetworks(query?: HostComputeQuery): Promise<HostComputeNetwork[]> {
    const ctx = { call: 'HcnEnumerateNetworks' };
    const { filter, v1 } = parseQuery(query, ctx);
    const s = this.store.read();
    const out = filterList(s.Networks as Doc[], filter, (n, k, v) => {
      if (k === 'type') return typeof v === 'string' && String(n.Type ?? 'NAT').toLowerCase() === v.toLowerCase();
      return undefined;
    }) as HostComputeNetwork[];
    return clone(v1 ? (out.map(networkV2ToV1) as unknown as HostComputeNetwork[]) : out.map((n) => hnsView('network', n)));
  }

  async getNetwork(id: string): Promise<HostComputeNetwork> {
    return clone(hnsView('network', networkIn(this.store.read(), id, { call: 'HcnOpenNetwork', subject: `network ${id}` })));
  }

  async createNetwork(doc: HostComputeNetwork): Promise<HostComputeNetwork> {
    const ctx: Ctx = { call: 'HcnCreateNetwork', subject: `network ${doc?.Name ?? ''}`.trim() };
    if (!doc || typeof doc !== 'object') fail('HCN_E_INVALID_JSON', ctx, '(the network document must be a JSON object)');
    let input = normalizeKeys(clone(doc)) as HostComputeNetwork;
    if (looksLikeV1Network(input)) input = networkV1ToV2(input as never);
    return hnsView('network', await this.store.mutate((s) => createNetworkIn(s, this.env(s), input, ctx)));
  }

  async modifyNetwork(id: string, request: ModifyNetworkRequest): Promise<HostComputeNetwork> {
    const req = normalizeKeys(clone(request)) as ModifyNetworkRequest;
    const ctx: Ctx = { call: 'HcnModifyNetwork', subject: `network ${id}`, requestType: String(req?.RequestType) };
    return hnsView('network', await this.store.mutate((s) => modifyNetworkIn(s, this.env(s), id, req, ctx)));
  }

  async deleteNetwork(id: string): Promise<void> {
    const ctx: Ctx = { call: 'HcnDeleteNetwork', subject: `network ${id}` };
    await this.store.mutate((s) => deleteNetworkIn(s, id, ctx));
  }

  // ---- endpoints ----------------------------------------------------------------------------

  async listEndpoints(query?: HostComputeQuery): Promise<HostComputeEndpoint[]> {
    const ctx = { call: 'HcnEnumerateEndpoints' };
    const { filter, v1 } = parseQuery(query, ctx);
    const s = this.store.read();
    const out = filterList(s.Endpoints as Doc[], filter, (e, k, v) => {
      if (k === 'virtualnetwork' || k === 'hostcomputenetwork') return sameGuid(e.HostComputeNetwork, v);
      if (k === 'virtualnetworkname') return findById(s.Networks, String(e.HostComputeNetwork ?? ''))?.Name === v;
      if (k === 'isremoteendpoint') return ((((e.Flags as number) ?? 0) & 1) === 1) === !!v;
      if (k === 'ipaddress') return ((e.IpConfigurations as IpConfig[]) ?? []).some((c) => sameIp(c.IpAddress, v));
      return undefined;
    }) as HostComputeEndpoint[];
    return clone(v1 ? out.map((e) => endpointV1(s, e)) : out.map((e) => hnsView('endpoint', e)));
  }

  async getEndpoint(id: string): Promise<HostComputeEndpoint> {
    return clone(hnsView('endpoint', endpointIn(this.store.read(), id, { call: 'HcnOpenEndpoint', subject: `endpoint ${id}` })));
  }

  async createEndpoint(networkId: string, doc: HostComputeEndpoint): Promise<HostComputeEndpoint> {
    const ctx: Ctx = { call: 'HcnCreateEndpoint', subject: `endpoint ${doc?.Name ?? ''} on network ${networkId}`.replace('  ', ' ') };
    if (!doc || typeof doc !== 'object') fail('HCN_E_INVALID_JSON', ctx, '(the endpoint document must be a JSON object)');
    let input = normalizeKeys(clone(doc)) as HostComputeEndpoint;
    if (looksLikeV1Endpoint(input)) input = endpointV1ToV2(input as never);
    return hnsView('endpoint', await this.store.mutate((s) => createEndpointIn(s, this.env(s), networkId, input, ctx)));
  }

  async modifyEndpoint(id: string, request: ModifyEndpointRequest): Promise<HostComputeEndpoint> {
    const ctx: Ctx = { call: 'HcnModifyEndpoint', subject: `endpoint ${id}` };
    const req = normalizeKeys(clone(request)) as ModifyEndpointRequest;
    return hnsView('endpoint', await this.store.mutate((s) => modifyEndpointIn(s, this.env(s), id, req, ctx)));
  }

  /** The emulator carries no packets: every counter is 0; an unknown endpoint is not-found as in HNS. */
  async endpointStats(id: string): Promise<EndpointStats> {
    const ep = await this.getEndpoint(id);
    return parseEndpointStats({ EndpointID: ep.ID, InstanceID: ep.ID }, ep.ID ?? id);
  }

  async deleteEndpoint(id: string): Promise<void> {
    const ctx: Ctx = { call: 'HcnDeleteEndpoint', subject: `endpoint ${id}` };
    await this.store.mutate((s) => deleteEndpointIn(s, id, ctx));
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
    return clone(v1 ? (out.map(namespaceV2ToV1) as unknown as HostComputeNamespace[]) : out.map((n) => hnsView('namespace', n)));
  }

  async getNamespace(id: string): Promise<HostComputeNamespace> {
    return clone(hnsView('namespace', namespaceIn(this.store.read(), id, { call: 'HcnOpenNamespace', subject: `namespace ${id}` })));
  }

  async createNamespace(doc: HostComputeNamespace): Promise<HostComputeNamespace> {
    const ctx: Ctx = { call: 'HcnCreateNamespace', subject: 'namespace' };
    const input = normalizeKeys(clone(doc ?? {})) as HostComputeNamespace;
    return hnsView('namespace', await this.store.mutate((s) => createNamespaceIn(s, input, ctx)));
  }

  async modifyNamespace(id: string, request: ModifyNamespaceRequest): Promise<HostComputeNamespace> {
    const ctx: Ctx = { call: 'HcnModifyNamespace', subject: `namespace ${id}` };
    const req = normalizeKeys(clone(request)) as ModifyNamespaceRequest;
    return hnsView('namespace', await this.store.mutate((s) => modifyNamespaceIn(s, id, req, ctx)));
  }

  async deleteNamespace(id: string): Promise<void> {
    const ctx: Ctx = { call: 'HcnDeleteNamespace', subject: `namespace ${id}` };
    await this.store.mutate((s) => deleteNamespaceIn(s, id, ctx));
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
      if (k === 'hostcomputeendpoints' || k === 'endpoint')
        return ((lb.HostComputeEndpoints as string[]) ?? []).some((e) => sameGuid(e, v));
      if (k === 'frontendvips' || k === 'vip') return ((lb.FrontendVIPs as string[]) ?? []).some((x) => sameIp(x, v));
      return undefined;
    }) as HostComputeLoadBalancer[];
    return clone(
      v1 ? (out.map(loadBalancerToPolicyList) as unknown as HostComputeLoadBalancer[]) : out.map((l) => hnsView('loadBalancer', l)),
    );
  }

  async getLoadBalancer(id: string): Promise<HostComputeLoadBalancer> {
    return clone(
      hnsView('loadBalancer', loadBalancerIn(this.store.read(), id, { call: 'HcnOpenLoadBalancer', subject: `load balancer ${id}` })),
    );
  }

  async createLoadBalancer(doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
    const ctx: Ctx = { call: 'HcnCreateLoadBalancer', subject: 'load balancer' };
    if (!doc || typeof doc !== 'object') fail('HCN_E_INVALID_JSON', ctx, '(the load balancer document must be a JSON object)');
    const input = normalizeKeys(clone(doc)) as HostComputeLoadBalancer;
    return hnsView('loadBalancer', await this.store.mutate((s) => createLoadBalancerIn(s, this.env(s), input, ctx)));
  }

  async modifyLoadBalancer(id: string, doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
    const ctx: Ctx = { call: 'HcnModifyLoadBalancer', subject: `load balancer ${id}` };
    const input = normalizeKeys(clone(doc ?? {})) as HostComputeLoadBalancer;
    return hnsView('loadBalancer', await this.store.mutate((s) => modifyLoadBalancerIn(s, this.env(s), id, input, ctx)));
  }

  async deleteLoadBalancer(id: string): Promise<void> {
    const ctx: Ctx = { call: 'HcnDeleteLoadBalancer', subject: `load balancer ${id}` };
    await this.store.mutate((s) => deleteLoadBalancerIn(s, id, ctx));
  }

  /** The emulator is HNS: a batch is the per-LB calls HNS would receive (the call log records each one). */
  applyLoadBalancers(batch: LoadBalancerBatch): Promise<LoadBalancerBatchResult> {
    return applyLoadBalancersOneByOne(this, batch);
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
