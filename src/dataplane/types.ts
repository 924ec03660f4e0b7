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
  HostComputeEndpoint, HostComputeLoadBalancer, HostComputeNamespace, HostComputeNetwork, HostComputeQuery,
  HnsFeatures, HnsVersion, ModifyEndpointRequest, ModifyNamespaceRequest, ModifyNetworkRequest,
} from '../hns';

export type DataplaneKind = 'memory' | 'linux' | 'hcn' | 'hns-v1' | 'powershell';
export const DATAPLANE_KINDS: readonly DataplaneKind[] = ['memory', 'linux', 'hcn', 'hns-v1', 'powershell'];

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

/**
 * HNS v1 (HNSCall) surface: REST-like paths with v1 JSON (../shared/reference/hcn-api.md §1.7).
 * Returns the envelope's `Output`; a failed HRESULT or `Success:false` becomes an HnsError.
 * The win-bridge/win-overlay `apiVersion` 1 paths and `GET /globals/version` go through here.
 */
export interface HnsV1Api {
  call<T = unknown>(method: HttpMethod, path: string, body?: unknown): Promise<T>;
}

export interface HostNetworkService {
  readonly kind: DataplaneKind;

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

  listNamespaces(query?: HostComputeQuery): Promise<HostComputeNamespace[]>;
  getNamespace(id: string): Promise<HostComputeNamespace>;
  createNamespace(doc: HostComputeNamespace): Promise<HostComputeNamespace>;
  modifyNamespace(id: string, request: ModifyNamespaceRequest): Promise<HostComputeNamespace>;
  deleteNamespace(id: string): Promise<void>;
  /**
   * = modifyNamespace(ns, {ResourceType:'Endpoint', RequestType:'Add', Settings:{EndpointId}}).
   * On Windows the namespace ID is a HostComputeNamespace GUID; on the linux data plane it is the netns
   * path (CNI_NETNS), and `options.interfaceName` names the interface created inside it (CNI_IFNAME).
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
   * True when the data plane writes native-level call records itself (every Hcn* call, HNSCall or cmdlet),
   * so openDataplane does not also wrap it with the interface-level call log.
   */
  readonly recordsOwnCalls?: boolean;

  /** The v1 HNSCall surface of the same host (objects created by either API are visible to both). */
  readonly v1: HnsV1Api;

  /** Release handles, sessions, sockets. Safe to call twice. */
  close(): Promise<void>;
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
