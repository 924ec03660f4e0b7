/**
 * The HNS v1 surface (HNSCall paths with v1 JSON; docs/windows.md "hns-v1") implemented over
 * any HostNetworkService, so data planes without a native v1 API (memory, linux) answer the win-bridge /
 * win-overlay `apiVersion` 1 paths and the objects created by either API are visible to both, as on Windows.
 *
 * Two v1 facts have no v2 home and live in a V1SideStore (v1-side-store.ts): the containers an endpoint is
 * attached to (`SharedContainers`) and policy lists that are not load balancers (ROUTE lists). Errors are worded
 * as HNSCall words them (v1-errors.ts).
 *
 * The reference v1 CNI path attaches a container through HCS (`HcsModifyComputeSystem(<container>,
 * {"ResourceType":"Network","RequestType":"Add","Settings":"<endpointId>"})`): a data plane with compute systems
 * (the emulator, memory/compute-systems.ts) passes its HcsApi and `modifyContainerNetwork` is that call. HNS's own
 * `POST /endpoints/<id>/attach` with `{ContainerId, SystemType:"Container"}` stays on the v1 surface (hcsshim
 * `HNSEndpoint.ContainerAttach`); both record the container in SharedContainers (v1 State 2, Attached).
 */
import {
  HRESULT,
  HRESULT_MESSAGES,
  HnsError,
  getCI,
  isHnsError,
  normalizeKeys,
  policyTypeIs,
  type HnsV1AttachRequest,
  type HnsV1Endpoint,
  type HnsV1Network,
  type HnsV1PolicyList,
  type HostComputeEndpoint,
  type HostComputeNamespace,
  type HostComputeNetwork,
} from '../hns';
import {
  ConversionError,
  endpointPolicyV1ToV2,
  endpointV1ToV2,
  endpointV2ToV1,
  isElbPolicyList,
  loadBalancerToPolicyList,
  namespaceV2ToV1,
  networkV1ToV2,
  networkV2ToV1,
  policyListToLoadBalancer,
  sameGuid,
} from '../hns/convert';
import type { HnsV1Api, HostNetworkService, HttpMethod } from './types';
import { sameId } from '../net/id';
import type { HcsApi, HcsRequestType } from './windows/hcs/request';
import { innerText, v1Error } from './v1-errors';
import type { V1SideStore } from './v1-side-store';

export { FileV1SideStore, type V1SideStore } from './v1-side-store';

type Doc = Record<string, unknown>;

export class V1OverV2 implements HnsV1Api {
  /** Present only when the data plane has compute systems (see the file comment). */
  readonly modifyContainerNetwork?: (containerId: string, endpointId: string, request: HcsRequestType) => Promise<void>;

  constructor(
    private readonly hns: HostNetworkService,
    private readonly side: V1SideStore,
    hcs?: HcsApi,
  ) {
    if (hcs)
      this.modifyContainerNetwork = (containerId, endpointId, request) => hcs.modifyNetworkEndpoint(containerId, endpointId, request);
  }

  async call<T = unknown>(method: HttpMethod, path: string, body?: unknown): Promise<T> {
    const call = `${method} ${path}`;
    try {
      return (await this.route(
        method,
        path,
        body === undefined || body === '' ? undefined : normalizeKeys(typeof body === 'string' ? JSON.parse(body) : body),
        call,
      )) as T;
    } catch (e) {
      if (isHnsError(e)) {
        if (e.message.includes('hns failed with error :')) throw e;
        throw new HnsError(e.hresult, `hns failed with error : ${innerText(e)}`, { call, subject: e.subject, record: e.record }, e.kind);
      }
      if (e instanceof SyntaxError)
        throw v1Error(
          HRESULT.HCN_E_INVALID_JSON,
          call,
          undefined,
          `${HRESULT_MESSAGES[HRESULT.HCN_E_INVALID_JSON]!.trim()} (${e.message})`,
        );
      if (e instanceof ConversionError)
        throw v1Error(HRESULT.E_INVALIDARG, call, undefined, `${HRESULT_MESSAGES[HRESULT.E_INVALIDARG]!.trim()} (${e.message})`);
      throw e;
    }
  }

  private async route(method: HttpMethod, rawPath: string, body: unknown, call: string): Promise<unknown> {
    const parts = rawPath
      .split('?')[0]
      .split('/')
      .filter((p) => p !== '');
    const [collection, id, action] = [parts[0]?.toLowerCase(), parts[1], parts[2]?.toLowerCase()];
    const unsupported = (): never => {
      throw v1Error(HRESULT.HCN_E_REQUEST_UNSUPPORTED, call, undefined, `${method} ${rawPath} is not part of the emulated HNS v1 API`);
    };
    if (parts.length > 3) unsupported();
    switch (collection) {
      case 'globals':
        if (method === 'GET' && id?.toLowerCase() === 'version' && !action) return this.hns.version();
        return unsupported();
      case 'networks':
        return this.networks(method, id, action, body, call);
      case 'endpoints':
        return this.endpoints(method, id, action, body, call);
      case 'policylists':
        return this.policyLists(method, id, action, body, call);
      case 'endpointstats':
        // hcsshim GetHNSEndpointStats; the plane's own counters (the emulator's are zeros: no packets cross it).
        if (method !== 'GET' || !id || action || !this.hns.endpointStats) return unsupported();
        return this.hns.endpointStats(id);
      case 'namespaces':
        return this.namespaces(method, id, action, body, call);
      default:
        return unsupported();
    }
  }

  private notFound(call: string, what: string): HnsError {
    return v1Error(HRESULT.ERROR_NOT_FOUND, call, what);
  }

  // ---- networks -----------------------------------------------------------------------------

  private async networks(
    method: HttpMethod,
    id: string | undefined,
    action: string | undefined,
    body: unknown,
    call: string,
  ): Promise<unknown> {
    if (action) throw v1Error(HRESULT.HCN_E_REQUEST_UNSUPPORTED, call, undefined);
    if (method === 'GET' && !id) return (await this.hns.listNetworks()).map(networkV2ToV1);
    if (method === 'GET') return networkV2ToV1(await this.hns.getNetwork(id!));
    if (method === 'DELETE' && id) {
      await this.hns.deleteNetwork(id);
      return undefined;
    }
    if (method === 'POST' && !id) {
      if (!body || typeof body !== 'object')
        throw v1Error(HRESULT.HCN_E_INVALID_JSON, call, undefined, 'the network document must be a JSON object');
      return networkV2ToV1(await this.hns.createNetwork(networkV1ToV2(body as HnsV1Network)));
    }
    if (method === 'POST' && id) {
      const exts = getCI<{ Id?: string; IsEnabled?: boolean }[]>(body, 'Extensions');
      if (!Array.isArray(exts))
        throw v1Error(HRESULT.E_INVALIDARG, call, `network ${id}`, 'a v1 network update carries Extensions:[{Id, IsEnabled}]');
      let net: HostComputeNetwork = await this.hns.getNetwork(id);
      for (const x of exts) {
        net = await this.hns.modifyNetwork(id, {
          ResourceType: 'Extension',
          RequestType: 'Update',
          Settings: { Id: String(getCI(x, 'Id')), IsEnabled: !!getCI(x, 'IsEnabled') },
        });
      }
      return networkV2ToV1(net);
    }
    throw v1Error(HRESULT.HCN_E_REQUEST_UNSUPPORTED, call, undefined);
  }

  // ---- endpoints ----------------------------------------------------------------------------

  private async toV1Endpoints(eps: HostComputeEndpoint[]): Promise<HnsV1Endpoint[]> {
    if (!eps.length) return [];
    const nets = await this.hns.listNetworks();
    const needNs = eps.some((e) => e.HostComputeNamespace);
    const namespaces: HostComputeNamespace[] = needNs ? await this.hns.listNamespaces() : [];
    const out: HnsV1Endpoint[] = [];
    for (const e of eps) {
      let doc = e;
      if (!this.side.embedded) {
        const shared = await this.side.sharedContainers(e.ID!);
        if (shared.length) doc = { ...e, Health: { ...(e.Health ?? {}), Extra: { ...(e.Health?.Extra ?? {}), SharedContainers: shared } } };
      }
      const ns = e.HostComputeNamespace ? namespaces.find((n) => sameGuid(n.ID, e.HostComputeNamespace)) : undefined;
      out.push(
        endpointV2ToV1(doc, {
          networkName: nets.find((n) => sameGuid(n.ID, e.HostComputeNetwork))?.Name,
          namespaceIsDefault: ns ? String(ns.Type).toLowerCase() === 'hostdefault' : undefined,
        }),
      );
    }
    return out;
  }

  private async endpoints(
    method: HttpMethod,
    id: string | undefined,
    action: string | undefined,
    body: unknown,
    call: string,
  ): Promise<unknown> {
    if (method === 'GET' && !id) return this.toV1Endpoints(await this.hns.listEndpoints());
    if (method === 'GET' && id && !action) return (await this.toV1Endpoints([await this.hns.getEndpoint(id)]))[0];
    if (method === 'DELETE' && id && !action) {
      await this.hns.deleteEndpoint(id);
      await this.side.forgetEndpoint?.(id);
      return undefined;
    }
    if (method === 'POST' && !id) return this.createEndpoint(body, call);
    if (method === 'POST' && id && !action) return this.updateEndpoint(id, body, call);
    if (method === 'POST' && id && (action === 'attach' || action === 'detach'))
      return this.attachDetach(id, action, (body ?? {}) as HnsV1AttachRequest, call);
    throw v1Error(
      HRESULT.HCN_E_REQUEST_UNSUPPORTED,
      call,
      undefined,
      `${method} ${call.split(' ')[1]} is not part of the emulated HNS v1 API`,
    );
  }

  private async createEndpoint(body: unknown, call: string): Promise<HnsV1Endpoint> {
    if (!body || typeof body !== 'object')
      throw v1Error(HRESULT.HCN_E_INVALID_JSON, call, undefined, 'the endpoint document must be a JSON object');
    const v1 = body as HnsV1Endpoint;
    let networkId = getCI<string>(v1, 'VirtualNetwork');
    const networkName = getCI<string>(v1, 'VirtualNetworkName');
    if (!networkId && networkName) {
      const net = (await this.hns.listNetworks()).find((n) => n.Name === networkName);
      if (!net) throw v1Error(HRESULT.HCN_E_NETWORK_NOT_FOUND, call, `network ${networkName}`);
      networkId = net.ID;
    }
    if (!networkId)
      throw v1Error(HRESULT.E_INVALIDARG, call, undefined, 'VirtualNetwork (the network ID) or VirtualNetworkName is required');
    const doc = endpointV1ToV2(v1);
    delete doc.HostComputeNetwork;
    const created = await this.hns.createEndpoint(networkId, doc);
    return (await this.toV1Endpoints([created]))[0];
  }

  /** hcsshim's HNSEndpoint.Update posts the whole object; HNS applies its policy list. */
  private async updateEndpoint(id: string, body: unknown, call: string): Promise<HnsV1Endpoint> {
    if (!body || typeof body !== 'object')
      throw v1Error(HRESULT.HCN_E_INVALID_JSON, call, `endpoint ${id}`, 'the endpoint document must be a JSON object');
    const current = await this.hns.getEndpoint(id);
    const wanted = ((getCI<Doc[]>(body, 'Policies') ?? []) as { Type: string }[]).map(endpointPolicyV1ToV2);
    const have = current.Policies ?? [];
    const wantedTypes = new Set(wanted.map((p) => p.Type.toLowerCase()));
    const gone = have.filter((p) => !wantedTypes.has(String(p.Type).toLowerCase()) && !policyTypeIs(p, 'EncapOverhead'));
    if (gone.length) await this.hns.modifyEndpoint(id, { ResourceType: 'Policy', RequestType: 'Remove', Settings: { Policies: gone } });
    if (wanted.length) await this.hns.modifyEndpoint(id, { ResourceType: 'Policy', RequestType: 'Update', Settings: { Policies: wanted } });
    return (await this.toV1Endpoints([await this.hns.getEndpoint(id)]))[0];
  }

  private async hostNamespace(call: string): Promise<HostComputeNamespace> {
    const ns = (
      await this.hns.listNamespaces({ SchemaVersion: { Major: 2, Minor: 0 }, Flags: 0, Filter: JSON.stringify({ IsDefault: true }) })
    ).find((n) => String(n.Type).toLowerCase() === 'hostdefault');
    if (!ns) throw v1Error(HRESULT.ERROR_NOT_FOUND, call, 'host default namespace');
    return ns;
  }

  private async attachDetach(id: string, action: 'attach' | 'detach', req: HnsV1AttachRequest, call: string): Promise<HnsV1Endpoint> {
    const system = String(getCI(req, 'SystemType') ?? (getCI(req, 'ContainerId') ? 'Container' : '')).toLowerCase();
    if (system === 'host') {
      const ns = await this.hostNamespace(call);
      if (action === 'attach') await this.hns.attachEndpoint(ns.ID!, id);
      else await this.hns.detachEndpoint(ns.ID!, id);
    } else if (system === 'container') {
      const cid = getCI<string>(req, 'ContainerId');
      if (!cid) throw v1Error(HRESULT.E_INVALIDARG, call, `endpoint ${id}`, 'ContainerId is required for SystemType Container');
      const ep = await this.hns.getEndpoint(id);
      if (((ep.Flags ?? 0) & 1) !== 0)
        throw v1Error(
          HRESULT.HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION,
          call,
          `endpoint ${id}`,
          'a remote endpoint cannot be attached to a container',
        );
      await this.side.updateSharedContainers(ep.ID!, call, (list) => {
        const has = list.some((c) => sameId(c, cid));
        if (action === 'attach') {
          if (has) throw v1Error(HRESULT.HCN_E_ENDPOINT_ALREADY_ATTACHED, call, `endpoint ${id} container ${cid}`);
          return [...list, cid];
        }
        if (!has) throw v1Error(HRESULT.HCN_E_ENDPOINT_NOT_ATTACHED, call, `endpoint ${id} container ${cid}`);
        return list.filter((c) => c.toLowerCase() !== cid.toLowerCase());
      });
    } else {
      throw v1Error(
        HRESULT.HCN_E_REQUEST_UNSUPPORTED,
        call,
        `endpoint ${id}`,
        `SystemType "${String(getCI(req, 'SystemType'))}" is not emulated (use Container or Host)`,
      );
    }
    return (await this.toV1Endpoints([await this.hns.getEndpoint(id)]))[0];
  }

  // ---- policy lists -------------------------------------------------------------------------

  private async allPolicyLists(): Promise<HnsV1PolicyList[]> {
    return [...(await this.hns.listLoadBalancers()).map(loadBalancerToPolicyList), ...(await this.side.listPolicyLists())];
  }

  private async policyLists(
    method: HttpMethod,
    id: string | undefined,
    action: string | undefined,
    body: unknown,
    call: string,
  ): Promise<unknown> {
    if (action) throw v1Error(HRESULT.HCN_E_REQUEST_UNSUPPORTED, call, undefined);
    if (method === 'GET' && !id) return this.allPolicyLists();
    if (method === 'GET' && id) {
      const pl = (await this.allPolicyLists()).find((p) => sameGuid(p.ID, id));
      if (!pl) throw this.notFound(call, `policy list ${id}`);
      return pl;
    }
    if (method === 'POST' && !id) {
      if (!body || typeof body !== 'object')
        throw v1Error(HRESULT.HCN_E_INVALID_JSON, call, undefined, 'the policy list must be a JSON object');
      const pl = body as HnsV1PolicyList;
      const policies = getCI<unknown[]>(pl, 'Policies');
      if (!Array.isArray(policies) || !policies.length)
        throw v1Error(HRESULT.E_INVALIDARG, call, undefined, 'a policy list needs Policies (ELB or ROUTE)');
      if (isElbPolicyList(pl)) return loadBalancerToPolicyList(await this.hns.createLoadBalancer(policyListToLoadBalancer(pl)));
      if ((policies as { Type?: unknown }[]).some((p) => policyTypeIs(p, 'ELB'))) {
        throw v1Error(HRESULT.E_INVALIDARG, call, undefined, 'ELB policies cannot be mixed with other policy types in one list');
      }
      const refs = getCI<string[]>(pl, 'References') ?? [];
      for (const ref of refs) {
        const m = /^\/endpoints\/([^/]+)\/?$/i.exec(String(ref));
        if (!m) throw v1Error(HRESULT.E_INVALIDARG, call, undefined, `reference "${String(ref)}" is not of the form /endpoints/<id>`);
        const known = await this.hns.listEndpoints({
          SchemaVersion: { Major: 2, Minor: 0 },
          Flags: 0,
          Filter: JSON.stringify({ ID: m[1] }),
        });
        if (!known.length) throw v1Error(HRESULT.HCN_E_ENDPOINT_NOT_FOUND, call, `policy list reference ${String(ref)}`);
      }
      return this.side.createPolicyList({ ...pl, References: refs, Policies: policies as HnsV1PolicyList['Policies'] });
    }
    if (method === 'DELETE' && id) {
      if (await this.side.deletePolicyList(id)) return undefined;
      await this.hns.deleteLoadBalancer(id);
      return undefined;
    }
    throw v1Error(HRESULT.HCN_E_REQUEST_UNSUPPORTED, call, undefined);
  }

  // ---- namespaces ---------------------------------------------------------------------------

  private async namespaces(
    method: HttpMethod,
    id: string | undefined,
    action: string | undefined,
    body: unknown,
    call: string,
  ): Promise<unknown> {
    if (method === 'GET' && !id) return (await this.hns.listNamespaces()).map(namespaceV2ToV1);
    if (method === 'GET' && id && !action) return namespaceV2ToV1(await this.hns.getNamespace(id));
    if (method === 'POST' && !id) {
      const isDefault = !!getCI(body, 'IsDefault');
      return namespaceV2ToV1(
        await this.hns.createNamespace({ Type: isDefault ? 'HostDefault' : 'Host', SchemaVersion: { Major: 2, Minor: 0 } }),
      );
    }
    if (method === 'DELETE' && id && !action) {
      await this.hns.deleteNamespace(id);
      return undefined;
    }
    if (method === 'POST' && id && (action === 'addresource' || action === 'removeresource')) {
      const type = String(getCI(body, 'Type') ?? '').toLowerCase();
      const data = getCI<Doc>(body, 'Data') ?? {};
      const epId = getCI<string>(data, 'Id');
      if (type !== 'endpoint' || !epId)
        throw v1Error(
          HRESULT.E_INVALIDARG,
          call,
          `namespace ${id}`,
          'the resource must be {"Type":"Endpoint","Data":{"Id":"<endpoint id>"}}',
        );
      if (action === 'addresource') await this.hns.attachEndpoint(id, epId);
      else await this.hns.detachEndpoint(id, epId);
      return namespaceV2ToV1(await this.hns.getNamespace(id));
    }
    throw v1Error(HRESULT.HCN_E_REQUEST_UNSUPPORTED, call, undefined);
  }
}
