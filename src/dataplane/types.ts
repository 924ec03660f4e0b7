/**
 * The host network service: the one interface every data plane implements (memory, linux, hcn, hns-v1,
 * powershell). Everything above it (CNI, agent, proxy, CLI) speaks HCN v2 documents through this.
 *
 * Contract shared by all implementations (the conformance suite in tests/conformance checks it):
 * - get*() of an unknown ID throws HnsError kind 'not-found'; list*() with a filter that matches nothing returns [].
 * - create*() returns the stored document as a query would (ID assigned, SchemaVersion set).
 * - delete*() of an unknown ID throws 'not-found'; callers that want idempotency catch it (isNotFound).
 * - IDs are GUID strings compared case-insensitively.
 * - Every failure is an HnsError carrying the HRESULT, the call and the subject.
 */
import type {
  EndpointStats,
  HostComputeEndpoint,
  HostComputeLoadBalancer,
  HostComputeNamespace,
  HostComputeNetwork,
  HostComputeQuery,
  HnsFeatures,
  HnsVersion,
  ModifyEndpointRequest,
  ModifyNamespaceRequest,
  ModifyNetworkRequest,
} from '../hns';

export type DataplaneKind = 'memory' | 'linux' | 'hcn' | 'hns-v1' | 'powershell';
export const DATAPLANE_KINDS: readonly DataplaneKind[] = ['memory', 'linux', 'hcn', 'hns-v1', 'powershell'];

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

/**
 * HNS v1 (HNSCall) surface: REST-like paths with v1 JSON (docs/windows.md).
 * Returns the envelope's `Output`; a failed HRESULT or `Success:false` becomes an HnsError.
 * The win-bridge/win-overlay `apiVersion` 1 paths and `GET /globals/version` go through here.
 */
export interface HnsV1Api {
  call<T = unknown>(method: HttpMethod, path: string, body?: unknown): Promise<T>;
  /**
   * HCS network hot-add/remove on a container's compute system (vmcompute.dll HcsModifyComputeSystem), the
   * apiVersion-1 container attach of hcsshim HotAttachEndpoint/HotDetachEndpoint; absent where the data plane
   * has no HCS (callers then use HNS POST /endpoints/<id>/attach|detach). A missing compute system rejects
   * with HCS_E_SYSTEM_NOT_FOUND.
   */
  modifyContainerNetwork?(containerId: string, endpointId: string, request: 'Add' | 'Remove'): Promise<void>;
}

/**
 * What a caller may rely on from a data plane. Callers (CNI plugins, agent, proxy, CLI) branch on these,
 * never on `kind`: a data plane either realizes a document or refuses it naming the field, and these say
 * in advance which.
 */
export interface DataplaneCapabilities {
  /**
   * How attachEndpoint names a namespace: 'guid' = a HostComputeNamespace ID (Windows, the emulator);
   * 'netns-path' = a network namespace path, CNI_NETNS (linux), where `interfaceName` names the interface.
   */
  readonly namespaceId: 'guid' | 'netns-path';
  /**
   * True when createEndpoint returns the MAC the interface will have; false when it is known only after
   * attachEndpoint (read the endpoint again then).
   */
  readonly macKnownBeforeAttach: boolean;
  /** How MACs are written in the documents and CNI results: HNS 'dashed' (0E-2A-...) or Linux 'colon' (0e:2a:...). */
  readonly macFormat: 'dashed' | 'colon';
  /** Policy types (HCN names) that are realized, per resource; any other type is refused naming it. */
  readonly policies: {
    readonly network: readonly string[];
    readonly endpoint: readonly string[];
    /** Load-balancer Flags/PortMapping features beyond plain VIP → backends: 'DSR', 'IPv6', 'SourceAffinity', ... */
    readonly loadBalancer: readonly string[];
  };
  /** Network types (HCN names) that createNetwork realizes. */
  readonly networkTypes: readonly string[];
  /** True when the HNS v1 (HNSCall) surface `v1` is present: the win-bridge/win-overlay apiVersion 1 paths. */
  readonly hnsV1: boolean;
  /** Address families endpoints may carry. */
  readonly addressFamilies: readonly ('IPv4' | 'IPv6')[];
  /**
   * Host endpoints: an endpoint attached to the namespace of Type HostDefault (listNamespaces) gives the node
   * itself that address on the network (Windows: a host vNIC; linux: the address on the network's bridge),
   * e.g. the `<subnet>.2` gateway of win-bridge pods.
   */
  readonly hostEndpoints: boolean;
  /**
   * True when win-bridge's `<subnet>.2` pod gateway must be owned by a host endpoint before an ADD may
   * hand it out (the ADD fails otherwise). False on the Windows planes and the emulator, where the plugin
   * is a drop-in for the reference one and the host endpoint is flannel's or the agent's business.
   */
  readonly gatewayNeedsOwner: boolean;
  /**
   * True when the first L2Bridge/Overlay network on an adapter re-plumbs the host (Windows: the external
   * vSwitch moves the host address), so an installer creates a throw-away `External` network first.
   */
  readonly externalPlaceholderNetwork: boolean;
  /** True when attachEndpoint creates a real interface with packets behind it (not an emulator). */
  readonly realizesPackets: boolean;
  /**
   * True when an Overlay network document must carry the node's ProviderAddress (the VTEP address) for the
   * data plane to pick it (linux); false where HNS takes it from the adapter and reports it back (Windows).
   */
  readonly providerAddressInDocument: boolean;
  /**
   * True when `hostRoutes` (the host's IPv4 route table) is offered: host-gw peers are then host routes, as
   * flannel's Windows backend adds them; false or absent: they are RemoteSubnetRoute network policies.
   */
  readonly hostRoutes?: boolean;
}

export interface HostNetworkService {
  readonly kind: DataplaneKind;
  readonly capabilities: DataplaneCapabilities;

  /** HNS service version (GET /globals/version); read once and cached by implementations. */
  version(): Promise<HnsVersion>;
  features(): Promise<HnsFeatures>;

  listNetworks(query?: HostComputeQuery): Promise<HostComputeNetwork[]>;
  getNetwork(id: string): Promise<HostComputeNetwork>;
  createNetwork(doc: HostComputeNetwork): Promise<HostComputeNetwork>;
  modifyNetwork(id: string, request: ModifyNetworkRequest): Promise<HostComputeNetwork>;
  deleteNetwork(id: string): Promise<void>;

  listEndpoints(query?: HostComputeQuery): Promise<HostComputeEndpoint[]>;
  getEndpoint(id: string): Promise<HostComputeEndpoint>;
  /** HcnCreateEndpoint takes an open network handle; `networkId` is that network. */
  createEndpoint(networkId: string, doc: HostComputeEndpoint): Promise<HostComputeEndpoint>;
  modifyEndpoint(id: string, request: ModifyEndpointRequest): Promise<HostComputeEndpoint>;
  deleteEndpoint(id: string): Promise<void>;
  /**
   * Endpoint statistics (HNS `GET /endpointstats/<id>`); absent where the data plane has none. The emulator
   * reports zeros: it carries no packets.
   */
  endpointStats?(id: string): Promise<EndpointStats>;

  listNamespaces(query?: HostComputeQuery): Promise<HostComputeNamespace[]>;
  getNamespace(id: string): Promise<HostComputeNamespace>;
  createNamespace(doc: HostComputeNamespace): Promise<HostComputeNamespace>;
  modifyNamespace(id: string, request: ModifyNamespaceRequest): Promise<HostComputeNamespace>;
  deleteNamespace(id: string): Promise<void>;
  /**
   * = modifyNamespace(ns, {ResourceType:'Endpoint', RequestType:'Add', Settings:{EndpointId}}).
   * capabilities.namespaceId says what `namespaceId` is: a HostComputeNamespace GUID, or a netns path
   * (CNI_NETNS) where `options.interfaceName` names the interface created inside it (CNI_IFNAME).
   */
  attachEndpoint(namespaceId: string, endpointId: string, options?: AttachOptions): Promise<void>;
  detachEndpoint(namespaceId: string, endpointId: string): Promise<void>;

  listLoadBalancers(query?: HostComputeQuery): Promise<HostComputeLoadBalancer[]>;
  getLoadBalancer(id: string): Promise<HostComputeLoadBalancer>;
  createLoadBalancer(doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer>;
  /** Whole-document update (HNS ≥ 15.4 ModifyLoadbalancer); older hosts delete and re-create. */
  modifyLoadBalancer(id: string, doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer>;
  deleteLoadBalancer(id: string): Promise<void>;
  /**
   * Many load-balancer changes in one call (lb-batch.ts): deletes first, then creates, then modifies, each with
   * its own outcome, as the per-LB calls would have had. Windows planes loop over their per-LB calls; linux
   * applies the whole batch as one nftables transaction and one state write.
   */
  applyLoadBalancers(batch: LoadBalancerBatch): Promise<LoadBalancerBatchResult>;

  /**
   * Crash and reboot recovery on request (`switchyard repair`): brings what the data plane realized back in
   * line with its records and says what it changed, one sentence per action (with dryRun: what it would
   * change, changing nothing). Absent where the data plane keeps nothing that can drift (the emulator, HNS).
   */
  repair?(options?: { dryRun?: boolean }): Promise<{ actions: string[] }>;

  /**
   * True when the data plane writes native-level call records itself (every Hcn* call, HNSCall or cmdlet),
   * so openDataplane does not also wrap it with the interface-level call log.
   */
  readonly recordsOwnCalls?: boolean;

  /**
   * The v1 HNSCall surface of the same host (objects created by either API are visible to both); absent
   * where the data plane has no v1 (capabilities.hnsV1 false).
   */
  readonly v1?: HnsV1Api;

  /**
   * The node's IP routing table (Windows: the IP Helper forward table, what `New-NetRoute` edits; the
   * emulator: a table it keeps), where the data plane has one to offer: flannel's Windows host-gw backend
   * routes a peer's pod subnet via the peer's address this way, as HNS has no object for a plain next hop.
   * Absent where peers are realized from the network's RemoteSubnetRoute policies instead (linux: rtnetlink).
   */
  readonly hostRoutes?: HostRouteTable;

  /** Release handles, sessions, sockets. Safe to call twice. */
  close(): Promise<void>;
}

/** A load-balancer batch (applyLoadBalancers; helpers in lb-batch.ts). */
export interface LoadBalancerModify {
  id: string;
  doc: HostComputeLoadBalancer;
}

export interface LoadBalancerBatch {
  /** Applied first, so a frontend they free can be claimed by a create of the same batch. */
  delete?: readonly string[];
  create?: readonly HostComputeLoadBalancer[];
  modify?: readonly LoadBalancerModify[];
}

/** One operation's result: the stored document (create, modify) or the error a per-LB call would have thrown. */
export type LoadBalancerOutcome = { ok: true; loadBalancer?: HostComputeLoadBalancer } | { ok: false; error: Error };

/** Outcomes in the order of the batch's arrays. */
export interface LoadBalancerBatchResult {
  deleted: LoadBalancerOutcome[];
  created: LoadBalancerOutcome[];
  modified: LoadBalancerOutcome[];
}

/** One IPv4 host route: DestinationPrefix via NextHop, out of one interface. */
export interface HostRoute {
  /** e.g. 10.244.3.0/24 */
  destinationPrefix: string;
  nextHop: string;
  /**
   * The interface (Windows: its alias, e.g. `vEthernet (Ethernet)`); absent: the interface the next hop is
   * reached through (the best route to it).
   */
  interfaceAlias?: string;
  /** Route metric; absent: the system's default. */
  metric?: number;
}

export interface HostRouteTable {
  /** The IPv4 routes that have a next hop (on-link and local routes are not listed). */
  list(): Promise<HostRoute[]>;
  /** Adds the route; an equal one (same prefix, next hop and interface) existing is an HnsError 'already-exists'. */
  add(route: HostRoute): Promise<void>;
  /** Deletes the route with this prefix, next hop (and interface, when given); none is an HnsError 'not-found'. */
  delete(route: HostRoute): Promise<void>;
}

export interface AttachOptions {
  /** Name of the interface inside the namespace (linux: CNI_IFNAME, default eth0). Ignored by HNS. */
  interfaceName?: string;
}

export interface DataplaneOptions {
  kind?: DataplaneKind;
  /** memory: the state file (env SWITCHYARD_STATE). */
  statePath?: string;
  /** hcn: path of computenetwork.dll or the stub library (env SWITCHYARD_HCN_LIBRARY). */
  hcnLibrary?: string;
  /** hns-v1 / hcn version query: path of vmcompute.dll or the stub library (env SWITCHYARD_VMCOMPUTE_LIBRARY). */
  vmcomputeLibrary?: string;
  /** Append one JSON line per data-plane call to this file (env SWITCHYARD_CALL_LOG). */
  callLog?: string;
  /** HNS version the emulator reports (env SWITCHYARD_HNS_VERSION, "15.4"). */
  emulatedVersion?: HnsVersion;
  /** Call timeout for blocking HNS calls, ms (env SWITCHYARD_HNS_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Environment to read defaults from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
}

/** One line of the call log: what was sent to HNS, so tests and benchmarks can count and inspect calls. */
export interface CallRecord {
  /** 'v2' for Hcn*-shaped calls, 'v1' for HNSCall. */
  api: 'v1' | 'v2';
  /** e.g. 'createEndpoint', 'modifyNamespace', 'POST /endpoints/'. */
  op: string;
  /** The object ID the call was about, when there is one. */
  id?: string;
  /** The document or request sent (query/filter for lists). */
  body?: unknown;
  ok: boolean;
  /** HRESULT on failure. */
  hresult?: number;
  pid: number;
  ms: number;
}
