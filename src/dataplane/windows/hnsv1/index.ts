/**
 * The hns-v1 data plane: the HostNetworkService (HCN v2 documents) over vmcompute.dll!HNSCall with v1 JSON,
 * for hosts older than Windows Server 2019 and for v1-only configurations. Documents are converted with
 * src/hns/convert.ts; load balancers are ELB policy lists; namespaces use /namespaces/<id>/addresource.
 * HNSCall has no query and no modify request, so filters and policy changes are applied here and sent as
 * whole v1 objects (POST /endpoints/<id> is how hcsshim updates an endpoint).
 */
import { endpointOnNetwork, isV1NetworkDocument, isV1SchemaDocument } from '../v1-schema';
import { HNS_V1_CAPABILITIES } from '../../capabilities';
import type { AttachOptions, HnsV1Api, HostNetworkService } from '../../types';
import { applyLoadBalancersOneByOne, type LoadBalancerBatch, type LoadBalancerBatchResult } from '../../lb-batch';
import type { ResolvedDataplaneOptions } from '../../factory';
import type {
  HostComputeEndpoint,
  HostComputeLoadBalancer,
  HostComputeNamespace,
  HostComputeNetwork,
  HostComputeQuery,
  HnsV1Endpoint,
  HnsV1Namespace,
  HnsV1Network,
  HnsV1PolicyList,
  ModifyEndpointRequest,
  ModifyNamespaceRequest,
  ModifyNetworkRequest,
  NamespaceResource,
} from '../../../hns';
import { HRESULT, HnsError } from '../../../hns/errors';
import { getCI } from '../../../hns/json';
import { parseEndpointStats, type EndpointStats } from '../../../hns/endpoint-stats';
import {
  ConversionError,
  V1UnsupportedError,
  assertEndpointPoliciesV1,
  assertLoadBalancerV1,
  endpointV1ToV2,
  endpointV2ToV1,
  isElbPolicyList,
  loadBalancerToPolicyList,
  namespaceV1ToV2,
  networkV1ToV2,
  networkV2ToV1,
  policyListToLoadBalancer,
} from '../../../hns/convert';
import { featuresFor, type HnsFeatures, type HnsVersion } from '../../../hns/version';
import { CallRecorder } from '../../call-log';
import {
  endpointNeeds,
  endpointRequestNeeds,
  loadBalancerNeeds,
  networkNeeds,
  networkRequestNeeds,
  requireFeatures,
  type FeatureNeed,
} from '../../../hns/features';
import { VersionReader } from '../version-reader';
import { parseGuid } from '../guid';
import { KeyedQueue } from '../keyed-queue';
import { DEFAULT_TIMEOUT_MS, vmcomputeLibrary, type NativeLibrary } from '../native';
import { hnsCall, type HnsCall } from './hnscall';
import { hcsApi } from '../hcs';
import { matches, parseFilter } from './filter';
import { applyPolicyRequest, type AnyPolicy } from '../../../hns/modify';

/** endpointV1ToV2 plus the namespace the v1 endpoint reports (Namespace.ID → HostComputeNamespace). */
function endpointFromV1(e: HnsV1Endpoint): HostComputeEndpoint {
  const ep = endpointV1ToV2(e);
  const ns = getCI<string>(getCI(e, 'Namespace'), 'ID');
  return ns ? { ...ep, HostComputeNamespace: ns } : ep;
}

function converted<T>(what: string, fn: () => T, call: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof V1UnsupportedError) {
      throw new HnsError(
        HRESULT.HCN_E_REQUEST_UNSUPPORTED,
        `${what}: ${e.message}; HNS v1 cannot express it (use the hcn data plane)`,
        { call, subject: what },
        'unsupported',
      );
    }
    if (e instanceof ConversionError) throw new HnsError(HRESULT.E_INVALIDARG, `${what} has no v1 form: ${e.message}`, { call });
    throw e;
  }
}

/** v1 ResourceList [{Type, Data:{Id}}] → v2 Resources [{Type, Data:{ID}}] (convert.ts leaves resources out). */
function namespaceFromV1(ns: HnsV1Namespace): HostComputeNamespace {
  const list = getCI<{ Type?: string; Data?: Record<string, unknown> }[]>(ns, 'ResourceList') ?? [];
  const resources: NamespaceResource[] = list.map((r) => ({
    Type: String(getCI(r, 'Type') ?? 'Endpoint').toLowerCase() === 'container' ? 'Container' : 'Endpoint',
    Data: { ID: String(getCI(getCI(r, 'Data'), 'Id') ?? getCI(getCI(r, 'Data'), 'ID') ?? '') },
  }));
  return { ...namespaceV1ToV2(ns), Resources: resources };
}

export class HnsV1Dataplane implements HostNetworkService {
  readonly kind = 'hns-v1' as const;
  readonly capabilities = HNS_V1_CAPABILITIES;
  /** Logs each native call itself (see CallRecorder). */
  readonly recordsOwnCalls = true;
  readonly v1: HnsV1Api;
  private readonly call: HnsCall;
  private readonly writes = new KeyedQueue();
  private readonly versionReader = new VersionReader(() => this.call('GET', '/globals/version'));

  constructor(lib: NativeLibrary, timeoutMs: number, callLog?: string) {
    this.call = hnsCall(lib, timeoutMs, new CallRecorder(callLog));
    const hcs = hcsApi(lib, timeoutMs);
    this.v1 = {
      call: (method, path, body) => this.call(method, path, body),
      modifyContainerNetwork: (containerId, endpointId, request) => hcs.modifyNetworkEndpoint(containerId, endpointId, request),
    };
  }

  version(): Promise<HnsVersion> {
    return this.versionReader.get();
  }

  async features(): Promise<HnsFeatures> {
    return featuresFor(await this.version());
  }

  private async gate(needs: FeatureNeed[], call: string, subject: string): Promise<void> {
    if (needs.length) requireFeatures(await this.version(), needs, call, subject);
  }

  private static id(id: string, what: string): string {
    parseGuid(id, `${what} ID`); // bad-input before anything is sent
    return id;
  }

  // ---- networks ----
  async listNetworks(query?: HostComputeQuery): Promise<HostComputeNetwork[]> {
    const filter = parseFilter(query, 'GET /networks/');
    const all = await this.call<HnsV1Network[]>('GET', '/networks/');
    return (all ?? []).map(networkV1ToV2).filter((n) => matches(n, filter));
  }
  async getNetwork(id: string): Promise<HostComputeNetwork> {
    HnsV1Dataplane.id(id, 'network');
    return networkV1ToV2(await this.call<HnsV1Network>('GET', `/networks/${id}`, undefined, `network ${id}`));
  }
  async createNetwork(doc: HostComputeNetwork): Promise<HostComputeNetwork> {
    const subject = `network ${JSON.stringify(doc.Name ?? '')}`;
    await this.gate(networkNeeds(doc), 'POST /networks/', subject);
    // A v1-shaped document (SchemaVersion-less, as hcsshim's v1 tests send) is already what HNSCall takes.
    const body = isV1NetworkDocument(doc)
      ? (doc as unknown as HnsV1Network)
      : converted(subject, () => networkV2ToV1(doc), 'POST /networks/');
    return this.writes.run(`network:${doc.Name ?? ''}`, async () =>
      networkV1ToV2(await this.call<HnsV1Network>('POST', '/networks/', body, subject)),
    );
  }
  async modifyNetwork(id: string, request: ModifyNetworkRequest): Promise<HostComputeNetwork> {
    const subject = `network ${id}`;
    HnsV1Dataplane.id(id, 'network');
    await this.gate(networkRequestNeeds(request), `POST /networks/${id}`, subject);
    return this.writes.run(id, async () => {
      const current = networkV1ToV2(await this.call<HnsV1Network>('GET', `/networks/${id}`, undefined, subject));
      const ctx = { call: `POST /networks/${id}`, subject };
      let next: HostComputeNetwork;
      if (request.ResourceType === 'Policy') {
        next = {
          ...current,
          Policies: applyPolicyRequest(
            (current.Policies ?? []) as AnyPolicy[],
            (request.Settings.Policies ?? []) as AnyPolicy[],
            request.RequestType,
            ctx,
          ) as HostComputeNetwork['Policies'],
        };
      } else if (request.ResourceType === 'DNS' && (request.RequestType === 'Update' || request.RequestType === 'Add')) {
        next = { ...current, Dns: request.Settings };
      } else {
        throw new HnsError(
          HRESULT.HCN_E_REQUEST_UNSUPPORTED,
          `${request.ResourceType} ${request.RequestType} has no HNS v1 equivalent; use the hcn data plane`,
          ctx,
          'unsupported',
        );
      }
      const v1 = networkV2ToV1(next);
      // Only what a modify can change; HNS merges the members given (SDN-psm1 Set-HnsSwitchExtension).
      const body = { Policies: v1.Policies ?? [], DNSServerList: v1.DNSServerList, DNSSuffix: v1.DNSSuffix };
      return networkV1ToV2(await this.call<HnsV1Network>('POST', `/networks/${id}`, body, subject));
    });
  }
  async deleteNetwork(id: string): Promise<void> {
    HnsV1Dataplane.id(id, 'network');
    await this.writes.run(id, () => this.call('DELETE', `/networks/${id}`, undefined, `network ${id}`));
  }

  // ---- endpoints ----
  async listEndpoints(query?: HostComputeQuery): Promise<HostComputeEndpoint[]> {
    const filter = parseFilter(query, 'GET /endpoints/');
    const all = await this.call<HnsV1Endpoint[]>('GET', '/endpoints/');
    return (all ?? []).map(endpointFromV1).filter((e) => matches(e, filter));
  }
  async getEndpoint(id: string): Promise<HostComputeEndpoint> {
    HnsV1Dataplane.id(id, 'endpoint');
    return endpointFromV1(await this.call<HnsV1Endpoint>('GET', `/endpoints/${id}`, undefined, `endpoint ${id}`));
  }
  async createEndpoint(networkId: string, doc: HostComputeEndpoint): Promise<HostComputeEndpoint> {
    HnsV1Dataplane.id(networkId, 'network');
    const subject = `endpoint ${JSON.stringify(doc.Name ?? '')} on network ${networkId}`;
    await this.gate(endpointNeeds(doc), 'POST /endpoints/', subject);
    const body = converted(
      subject,
      () => {
        if (isV1SchemaDocument(doc)) return endpointOnNetwork(doc, networkId) as unknown as HnsV1Endpoint;
        assertEndpointPoliciesV1(doc.Policies);
        return endpointV2ToV1({ ...doc, HostComputeNetwork: networkId });
      },
      'POST /endpoints/',
    );
    delete body.State;
    return this.writes.run(networkId, async () => endpointFromV1(await this.call<HnsV1Endpoint>('POST', '/endpoints/', body, subject)));
  }
  async modifyEndpoint(id: string, request: ModifyEndpointRequest): Promise<HostComputeEndpoint> {
    HnsV1Dataplane.id(id, 'endpoint');
    const subject = `endpoint ${id}`;
    const ctx = { call: `POST /endpoints/${id}`, subject };
    await this.gate(endpointRequestNeeds(request), ctx.call, subject);
    if (request.ResourceType !== 'Policy') {
      throw new HnsError(
        HRESULT.HCN_E_REQUEST_UNSUPPORTED,
        `${request.ResourceType} requests have no HNS v1 equivalent; use the hcn data plane`,
        ctx,
        'unsupported',
      );
    }
    converted(
      subject,
      () => assertEndpointPoliciesV1(request.Settings.Policies as HostComputeEndpoint['Policies'], 'Settings.Policies'),
      ctx.call,
    );
    const v1 = await this.call<HnsV1Endpoint>('GET', `/endpoints/${id}`, undefined, subject);
    const current = endpointV1ToV2(v1);
    const policies = applyPolicyRequest(
      (current.Policies ?? []) as AnyPolicy[],
      (request.Settings.Policies ?? []) as AnyPolicy[],
      request.RequestType,
      ctx,
    );
    // hcsshim HNSEndpoint.Update: POST the whole object back with the new policy list.
    const body = { ...v1, Policies: endpointV2ToV1({ ...current, Policies: policies as HostComputeEndpoint['Policies'] }).Policies ?? [] };
    return endpointFromV1(await this.call<HnsV1Endpoint>('POST', `/endpoints/${id}`, body, subject));
  }
  /** hcsshim GetHNSEndpointStats: GET /endpointstats/<id>. */
  async endpointStats(id: string): Promise<EndpointStats> {
    HnsV1Dataplane.id(id, 'endpoint');
    return parseEndpointStats(await this.call('GET', `/endpointstats/${id}`, undefined, `endpoint ${id}`), id);
  }
  async deleteEndpoint(id: string): Promise<void> {
    HnsV1Dataplane.id(id, 'endpoint');
    await this.call('DELETE', `/endpoints/${id}`, undefined, `endpoint ${id}`);
  }

  // ---- namespaces ----
  async listNamespaces(query?: HostComputeQuery): Promise<HostComputeNamespace[]> {
    const filter = parseFilter(query, 'GET /namespaces/');
    const all = await this.call<HnsV1Namespace[]>('GET', '/namespaces/');
    return (all ?? []).map(namespaceFromV1).filter((n) => matches(n, filter));
  }
  async getNamespace(id: string): Promise<HostComputeNamespace> {
    HnsV1Dataplane.id(id, 'namespace');
    return namespaceFromV1(await this.call<HnsV1Namespace>('GET', `/namespaces/${id}`, undefined, `namespace ${id}`));
  }
  async createNamespace(doc: HostComputeNamespace): Promise<HostComputeNamespace> {
    const body: HnsV1Namespace = { IsDefault: String(doc.Type ?? 'Host').toLowerCase() === 'hostdefault' };
    if (doc.ID) body.ID = doc.ID;
    return namespaceFromV1(await this.call<HnsV1Namespace>('POST', '/namespaces/', body, 'namespace'));
  }
  async modifyNamespace(id: string, request: ModifyNamespaceRequest): Promise<HostComputeNamespace> {
    HnsV1Dataplane.id(id, 'namespace');
    const subject = `namespace ${id}`;
    const action = request.RequestType === 'Add' ? 'addresource' : request.RequestType === 'Remove' ? 'removeresource' : undefined;
    if (!action)
      throw new HnsError(HRESULT.E_INVALIDARG, `RequestType "${request.RequestType}" must be Add or Remove`, {
        call: `POST /namespaces/${id}`,
        subject,
      });
    const resourceId = request.ResourceType === 'Endpoint' ? request.Settings.EndpointId : request.Settings.ContainerId;
    if (request.ResourceType === 'Endpoint') HnsV1Dataplane.id(resourceId, 'endpoint');
    const body = { Type: request.ResourceType, Data: { Id: resourceId } };
    return namespaceFromV1(
      await this.call<HnsV1Namespace>(
        'POST',
        `/namespaces/${id}/${action}`,
        body,
        `${subject} ${request.ResourceType.toLowerCase()} ${resourceId}`,
      ),
    );
  }
  async deleteNamespace(id: string): Promise<void> {
    HnsV1Dataplane.id(id, 'namespace');
    await this.call('DELETE', `/namespaces/${id}`, undefined, `namespace ${id}`);
  }
  async attachEndpoint(namespaceId: string, endpointId: string, _options?: AttachOptions): Promise<void> {
    await this.modifyNamespace(namespaceId, { ResourceType: 'Endpoint', RequestType: 'Add', Settings: { EndpointId: endpointId } });
  }
  async detachEndpoint(namespaceId: string, endpointId: string): Promise<void> {
    await this.modifyNamespace(namespaceId, { ResourceType: 'Endpoint', RequestType: 'Remove', Settings: { EndpointId: endpointId } });
  }

  // ---- load balancers (ELB policy lists) ----
  async listLoadBalancers(query?: HostComputeQuery): Promise<HostComputeLoadBalancer[]> {
    const filter = parseFilter(query, 'GET /policylists/');
    const all = await this.call<HnsV1PolicyList[]>('GET', '/policylists/');
    return (all ?? [])
      .filter(isElbPolicyList)
      .map((pl) => converted('policy list', () => policyListToLoadBalancer(pl), 'GET /policylists/'))
      .filter((lb) => matches(lb, filter));
  }
  async getLoadBalancer(id: string): Promise<HostComputeLoadBalancer> {
    HnsV1Dataplane.id(id, 'load balancer');
    const subject = `load balancer ${id}`;
    const pl = await this.call<HnsV1PolicyList>('GET', `/policylists/${id}`, undefined, subject);
    if (!isElbPolicyList(pl))
      throw HnsError.of(
        'ERROR_NOT_FOUND',
        { call: `GET /policylists/${id}`, subject },
        `policy list ${id} is not a load balancer (it has no ELB policies)`,
      );
    return converted(subject, () => policyListToLoadBalancer(pl), `GET /policylists/${id}`);
  }
  async createLoadBalancer(doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
    const subject = `load balancer ${(doc.FrontendVIPs ?? []).join(',') || '(all host addresses)'}`;
    await this.gate(loadBalancerNeeds(doc), 'POST /policylists/', subject);
    if (!(doc.PortMappings ?? []).length) {
      throw new HnsError(
        HRESULT.E_INVALIDARG,
        'PortMappings must have at least one mapping: a v1 load balancer is one ELB policy per mapping',
        { call: 'POST /policylists/', subject },
      );
    }
    const body = converted(
      subject,
      () => {
        assertLoadBalancerV1(doc);
        return loadBalancerToPolicyList(doc);
      },
      'POST /policylists/',
    );
    if (!doc.ID) delete body.ID;
    const created = await this.call<HnsV1PolicyList>('POST', '/policylists/', body, subject);
    return converted(subject, () => policyListToLoadBalancer(created), 'POST /policylists/');
  }
  async modifyLoadBalancer(id: string, doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
    const subject = `load balancer ${id}`;
    await this.gate(loadBalancerNeeds(doc), `POST /policylists/`, subject);
    // Refused before the old list is deleted: a modify v1 cannot express must leave the load balancer as it was.
    converted(subject, () => assertLoadBalancerV1(doc), 'POST /policylists/');
    // v1 policy lists cannot be modified: delete and re-create under the same ID (hcsshim PolicyList.AddEndpoint).
    return this.writes.run(`lb:${id}`, async () => {
      await this.getLoadBalancer(id);
      await this.deleteLoadBalancer(id);
      return this.createLoadBalancer({ ...doc, ID: id });
    });
  }
  async deleteLoadBalancer(id: string): Promise<void> {
    HnsV1Dataplane.id(id, 'load balancer');
    await this.call('DELETE', `/policylists/${id}`, undefined, `load balancer ${id}`);
  }

  /** HNS has no batch call: each change is its own HNS call (and call-log record), in the batch's order. */
  applyLoadBalancers(batch: LoadBalancerBatch): Promise<LoadBalancerBatchResult> {
    return applyLoadBalancersOneByOne(this, batch);
  }

  async close(): Promise<void> {
    /* nothing held between calls: HNSCall has no handles */
  }
}

export async function open(options: ResolvedDataplaneOptions): Promise<HostNetworkService> {
  return new HnsV1Dataplane(vmcomputeLibrary(options), options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.callLog);
}
