/**
 * The hcn data plane: HostNetworkService over computenetwork.dll (Windows Server 2019+), or over the Linux
 * stub library that exports the same symbols (SWITCHYARD_HCN_LIBRARY=native/build/libhcnstub.so).
 *
 * Call sequences follow hcsshim's hcn package: create with the zero GUID (HNS assigns
 * the ID) → query → close; endpoints are created against an open network handle; get/list = enumerate IDs →
 * open → query → close; modify = open → modify → query → close; delete by GUID. Handles are always closed in
 * `finally`. Writes to one network (modify, delete, endpoint create) are serialized.
 */
import { createSettingsObject, endpointOnNetwork } from '../v1-schema';
import { checkNetworkAsHcsshim } from '../../../hns/client-checks';
import { WINDOWS_CAPABILITIES } from '../../capabilities';
import type { AttachOptions, HnsV1Api, HostNetworkService, HostRouteTable } from '../../types';
import { applyLoadBalancersOneByOne, type LoadBalancerBatch, type LoadBalancerBatchResult } from '../../lb-batch';
import type { ResolvedDataplaneOptions } from '../../factory';
import type {
  HostComputeEndpoint,
  HostComputeLoadBalancer,
  HostComputeNamespace,
  HostComputeNetwork,
  HostComputeQuery,
  ModifyEndpointRequest,
  ModifyNamespaceRequest,
  ModifyNetworkRequest,
} from '../../../hns';
import { HRESULT, HnsError, isNotFound } from '../../../hns/errors';
import { canonicalNetworkType, normalizeKeys, parseHnsJson, stringifyHnsJson } from '../../../hns/json';
import { buildQuery } from '../../../hns/query';
import { namespaceEndpointRequest } from '../../../hns/modify';
import { SCHEMA_V2 } from '../../../hns/schema';
import { featuresFor, type HnsFeatures, type HnsVersion } from '../../../hns/version';
import { CallRecorder } from '../../call-log';
import {
  endpointNeeds,
  endpointRequestNeeds,
  loadBalancerNeeds,
  networkNeeds,
  networkRequestNeeds,
  requireFeatures,
} from '../../../hns/features';
import { VersionReader } from '../version-reader';
import { ZERO_GUID, parseGuid, type GuidStruct } from '../guid';
import { KeyedQueue } from '../keyed-queue';
import { IpHelperRouteTable, iphlpapiPath } from '../iphlp-routes';
import { DEFAULT_TIMEOUT_MS, hcnLibrary, invoke, vmcomputeLibrary, type NativeLibrary, type Pointer } from '../native';
import { hnsCallApi } from '../hnsv1/hnscall';
import { parseEndpointStats, type EndpointStats } from '../../../hns/endpoint-stats';
import { hcsApi, type HcsApi } from '../hcs';
import { familyFns, type FamilyFns, type HcnFamily } from './bindings';

/** Reads in flight at once when listing (writes are serialized per network; reads are not). */
const LIST_CONCURRENCY = 4;

const LABEL: Record<HcnFamily, string> = {
  Network: 'network',
  Endpoint: 'endpoint',
  Namespace: 'namespace',
  LoadBalancer: 'load balancer',
};

/** One HCN object family (networks, endpoints, ...) with hcsshim's call sequences. */
class Family<T extends { ID?: string }> {
  private readonly f: FamilyFns;

  constructor(
    private readonly lib: NativeLibrary,
    readonly family: HcnFamily,
    private readonly timeoutMs: number,
    private readonly fix: (doc: T) => T = (d) => d,
  ) {
    this.f = familyFns(lib, family);
  }

  private subject(id: string): string {
    return `${LABEL[this.family]} ${id}`;
  }

  parse(text: string | undefined, subject: string): T {
    if (!text) throw new HnsError(HRESULT.E_FAIL, `HNS returned no document for ${subject}`, { subject });
    return this.fix(normalizeKeys(parseHnsJson<T>(text)));
  }

  async enumerate(query: HostComputeQuery): Promise<string[]> {
    const result: [Pointer] = [null];
    const record: [Pointer] = [null];
    const r = await invoke(this.lib, this.f.enumerate(), {
      name: this.f.enumerateName,
      subject: query.Filter ? `filter ${query.Filter}` : undefined,
      args: [stringifyHnsJson(query), result, record],
      result,
      record,
      timeoutMs: this.timeoutMs,
    });
    const ids = r.result ? parseHnsJson<unknown>(r.result) : [];
    if (!Array.isArray(ids))
      throw new HnsError(HRESULT.E_FAIL, `${this.f.enumerateName} returned ${r.result} instead of a list of IDs`, {
        call: this.f.enumerateName,
      });
    return ids.map(String);
  }

  close(handle: Pointer): Promise<unknown> {
    return invoke(this.lib, this.f.close(), { name: this.f.closeName, args: [handle], timeoutMs: this.timeoutMs });
  }

  private closeLate = (h: Pointer) => {
    // Late/failed calls: close without waiting (the promise is not observed by anyone).
    this.f.close().async(h, () => undefined);
  };

  /**
   * A create that timed out but then succeeded: the caller was told it failed (and may retry), so delete
   * what HNS made rather than leave an object nobody owns. Best effort; the handle is always closed.
   */
  private discardLate = (h: Pointer) => {
    void (async () => {
      try {
        const doc = await this.query(h, buildQuery(), `late ${LABEL[this.family]}`);
        if (doc.ID) await this.delete(doc.ID);
      } catch {
        /* nothing more can be done; HNS keeps the object (the timeout error already told the caller) */
      } finally {
        this.closeLate(h);
      }
    })();
  };

  async open(guid: GuidStruct, subject: string): Promise<Pointer> {
    const handle: [Pointer] = [null];
    const record: [Pointer] = [null];
    const r = await invoke(this.lib, this.f.open(), {
      name: this.f.openName,
      subject,
      args: [guid, handle, record],
      handle,
      record,
      closeHandle: this.closeLate,
      timeoutMs: this.timeoutMs,
    });
    return r.handle;
  }

  async query(handle: Pointer, query: HostComputeQuery, subject: string): Promise<T> {
    const result: [Pointer] = [null];
    const record: [Pointer] = [null];
    const r = await invoke(this.lib, this.f.query(), {
      name: this.f.queryName,
      subject,
      args: [handle, stringifyHnsJson(query), result, record],
      result,
      record,
      timeoutMs: this.timeoutMs,
    });
    return this.parse(r.result, subject);
  }

  /** open → fn(handle) → close, the close always attempted. */
  async withHandle<R>(id: string, fn: (h: Pointer, subject: string) => Promise<R>): Promise<R> {
    const subject = this.subject(id);
    const guid = parseGuid(id, `${LABEL[this.family]} ID`);
    const h = await this.open(guid, subject);
    let failed = false;
    try {
      return await fn(h, subject);
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      // A failing close must not hide the error that matters (the call's own).
      await this.close(h).catch((e: unknown) => {
        if (!failed) throw e;
      });
    }
  }

  get(id: string, query: HostComputeQuery = buildQuery()): Promise<T> {
    return this.withHandle(id, (h, subject) => this.query(h, query, subject));
  }

  /** Enumerate, then open/query/close each ID, a few at a time (each is an RPC into HNS), in HNS's order. */
  async list(query: HostComputeQuery = buildQuery()): Promise<T[]> {
    const ids = await this.enumerate(query);
    const out: (T | undefined)[] = new Array(ids.length);
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const i = next++;
        try {
          out[i] = await this.get(ids[i], query);
        } catch (e) {
          if (!isNotFound(e)) throw e; // deleted between enumerate and open
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, ids.length) }, worker));
    return out.filter((d): d is T => d !== undefined);
  }

  /** Create → query → close. `networkHandle` only for endpoints. */
  async create(doc: T, subject: string, networkHandle?: Pointer): Promise<T> {
    const guid = doc.ID ? parseGuid(doc.ID, `${LABEL[this.family]} ID`) : ZERO_GUID;
    const handle: [Pointer] = [null];
    const record: [Pointer] = [null];
    const settings = stringifyHnsJson(createSettingsObject(doc));
    const args = networkHandle === undefined ? [guid, settings, handle, record] : [networkHandle, guid, settings, handle, record];
    const r = await invoke(this.lib, this.f.create(), {
      name: this.f.createName,
      subject,
      args,
      handle,
      record,
      closeHandle: this.closeLate,
      onLateSuccess: this.discardLate,
      timeoutMs: this.timeoutMs,
    });
    let failed = false;
    try {
      return await this.query(r.handle, buildQuery(), subject);
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      await this.close(r.handle).catch((e: unknown) => {
        if (!failed) throw e;
      });
    }
  }

  modify(id: string, request: unknown): Promise<T> {
    return this.withHandle(id, async (h, subject) => {
      const record: [Pointer] = [null];
      await invoke(this.lib, this.f.modify(), {
        name: this.f.modifyName,
        subject,
        args: [h, stringifyHnsJson(request), record],
        record,
        timeoutMs: this.timeoutMs,
      });
      return this.query(h, buildQuery(), subject);
    });
  }

  async delete(id: string): Promise<void> {
    const subject = this.subject(id);
    const record: [Pointer] = [null];
    await invoke(this.lib, this.f.delete(), {
      name: this.f.deleteName,
      subject,
      args: [parseGuid(id, `${LABEL[this.family]} ID`), record],
      record,
      timeoutMs: this.timeoutMs,
    });
  }
}

const fixNetwork = (n: HostComputeNetwork): HostComputeNetwork => ({ ...n, Type: canonicalNetworkType(n.Type) });

export class HcnDataplane implements HostNetworkService {
  readonly kind = 'hcn' as const;
  readonly capabilities = WINDOWS_CAPABILITIES;
  /** Logs each native call itself (see CallRecorder). */
  readonly recordsOwnCalls = true;
  readonly v1: HnsV1Api;
  private readonly networks: Family<HostComputeNetwork>;
  private readonly endpoints: Family<HostComputeEndpoint>;
  private readonly namespaces: Family<HostComputeNamespace>;
  private readonly loadBalancers: Family<HostComputeLoadBalancer>;
  private readonly writes = new KeyedQueue();
  private readonly log: CallRecorder;
  private readonly versionReader = new VersionReader(() => this.v1.call('GET', '/globals/version'));
  private closed = false;
  /** The IP Helper route table (iphlpapi.dll; the stub's on Linux), each call in the call log. */
  readonly hostRoutes?: HostRouteTable;

  constructor(
    lib: NativeLibrary,
    private readonly vmcompute: () => NativeLibrary,
    timeoutMs: number,
    callLog?: string,
    iphlpapi?: string,
  ) {
    this.log = new CallRecorder(callLog);
    if (iphlpapi) {
      const t = new IpHelperRouteTable(iphlpapi, timeoutMs);
      this.hostRoutes = {
        list: () => this.track('listHostRoutes', undefined, undefined, () => t.list()),
        add: (r) => this.track('addHostRoute', undefined, r, () => t.add(r)),
        delete: (r) => this.track('deleteHostRoute', undefined, r, () => t.delete(r)),
      };
    }
    this.networks = new Family(lib, 'Network', timeoutMs, fixNetwork);
    this.endpoints = new Family(lib, 'Endpoint', timeoutMs);
    this.namespaces = new Family(lib, 'Namespace', timeoutMs);
    this.loadBalancers = new Family(lib, 'LoadBalancer', timeoutMs);
    let api: HnsV1Api | undefined;
    const v1 = () => (api ??= hnsCallApi(this.vmcompute(), timeoutMs, this.log));
    let hcs: HcsApi | undefined;
    this.v1 = {
      call: (method, path, body) => v1().call(method, path, body),
      modifyContainerNetwork: (containerId, endpointId, request) =>
        (hcs ??= hcsApi(this.vmcompute(), timeoutMs)).modifyNetworkEndpoint(containerId, endpointId, request),
    };
  }

  private track<T>(op: string, id: string | undefined, body: unknown, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new HnsError(HRESULT.E_FAIL, `the hcn data plane was closed`, { call: op }));
    return this.log.track('v2', op, id, body, fn);
  }

  /** GET /globals/version through vmcompute.dll, once per data plane (hcsshim caches it per process). */
  version(): Promise<HnsVersion> {
    return this.versionReader.get();
  }

  async features(): Promise<HnsFeatures> {
    return featuresFor(await this.version());
  }

  private async gate(needs: ReturnType<typeof networkNeeds>, call: string, subject: string): Promise<void> {
    if (needs.length === 0) return;
    requireFeatures(await this.version(), needs, call, subject);
  }

  // ---- networks ----
  listNetworks(query?: HostComputeQuery): Promise<HostComputeNetwork[]> {
    return this.track('listNetworks', undefined, query, () => this.networks.list(query));
  }
  getNetwork(id: string): Promise<HostComputeNetwork> {
    return this.track('getNetwork', id, undefined, () => this.networks.get(id));
  }
  createNetwork(doc: HostComputeNetwork): Promise<HostComputeNetwork> {
    return this.track('createNetwork', doc.ID, doc, async () => {
      const subject = `network ${JSON.stringify(doc.Name ?? '')}`;
      checkNetworkAsHcsshim(doc, 'HcnCreateNetwork', subject);
      await this.gate(networkNeeds(doc), 'HcnCreateNetwork', subject);
      return this.writes.run(`network:${doc.Name ?? doc.ID ?? ''}`, () => this.networks.create(doc, subject));
    });
  }
  modifyNetwork(id: string, request: ModifyNetworkRequest): Promise<HostComputeNetwork> {
    return this.track('modifyNetwork', id, request, async () => {
      await this.gate(networkRequestNeeds(request), 'HcnModifyNetwork', `network ${id}`);
      return this.writes.run(id, () => this.networks.modify(id, request));
    });
  }
  deleteNetwork(id: string): Promise<void> {
    return this.track('deleteNetwork', id, undefined, () => this.writes.run(id, () => this.networks.delete(id)));
  }

  /** Endpoint counters: HNSCall GET /endpointstats/<id>, as hcsshim GetHNSEndpointStats and windows_exporter read them. */
  endpointStats(id: string): Promise<EndpointStats> {
    return this.track('endpointStats', id, undefined, async () => {
      parseGuid(id, 'endpoint ID');
      return parseEndpointStats(await this.v1.call('GET', `/endpointstats/${id}`), id);
    });
  }

  // ---- endpoints ----
  listEndpoints(query?: HostComputeQuery): Promise<HostComputeEndpoint[]> {
    return this.track('listEndpoints', undefined, query, () => this.endpoints.list(query));
  }
  getEndpoint(id: string): Promise<HostComputeEndpoint> {
    return this.track('getEndpoint', id, undefined, () => this.endpoints.get(id));
  }
  createEndpoint(networkId: string, doc: HostComputeEndpoint): Promise<HostComputeEndpoint> {
    return this.track('createEndpoint', networkId, doc, async () => {
      const subject = `endpoint ${JSON.stringify(doc.Name ?? '')} on network ${networkId}`;
      await this.gate(endpointNeeds(doc), 'HcnCreateEndpoint', subject);
      // hcsshim sets HostComputeNetwork in the JSON as well as passing the network handle (VirtualNetwork in v1 schema).
      const body: HostComputeEndpoint = endpointOnNetwork(doc, networkId);
      return this.writes.run(networkId, () => this.networks.withHandle(networkId, (nh) => this.endpoints.create(body, subject, nh)));
    });
  }
  modifyEndpoint(id: string, request: ModifyEndpointRequest): Promise<HostComputeEndpoint> {
    return this.track('modifyEndpoint', id, request, async () => {
      await this.gate(endpointRequestNeeds(request), 'HcnModifyEndpoint', `endpoint ${id}`);
      return this.endpoints.modify(id, request);
    });
  }
  deleteEndpoint(id: string): Promise<void> {
    return this.track('deleteEndpoint', id, undefined, () => this.endpoints.delete(id));
  }

  // ---- namespaces ----
  listNamespaces(query?: HostComputeQuery): Promise<HostComputeNamespace[]> {
    return this.track('listNamespaces', undefined, query, () => this.namespaces.list(query));
  }
  getNamespace(id: string): Promise<HostComputeNamespace> {
    return this.track('getNamespace', id, undefined, () => this.namespaces.get(id));
  }
  createNamespace(doc: HostComputeNamespace): Promise<HostComputeNamespace> {
    return this.track('createNamespace', doc.ID, doc, () =>
      this.namespaces.create({ Type: 'Host', ...doc }, `namespace ${doc.ID ?? '(new)'}`),
    );
  }
  modifyNamespace(id: string, request: ModifyNamespaceRequest): Promise<HostComputeNamespace> {
    return this.track('modifyNamespace', id, request, () => this.namespaces.modify(id, request));
  }
  deleteNamespace(id: string): Promise<void> {
    return this.track('deleteNamespace', id, undefined, () => this.namespaces.delete(id));
  }
  async attachEndpoint(namespaceId: string, endpointId: string, _options?: AttachOptions): Promise<void> {
    await this.modifyNamespace(namespaceId, namespaceEndpointRequest('Add', endpointId));
  }
  async detachEndpoint(namespaceId: string, endpointId: string): Promise<void> {
    await this.modifyNamespace(namespaceId, namespaceEndpointRequest('Remove', endpointId));
  }

  // ---- load balancers ----
  listLoadBalancers(query?: HostComputeQuery): Promise<HostComputeLoadBalancer[]> {
    return this.track('listLoadBalancers', undefined, query, () => this.loadBalancers.list(query));
  }
  getLoadBalancer(id: string): Promise<HostComputeLoadBalancer> {
    return this.track('getLoadBalancer', id, undefined, () => this.loadBalancers.get(id));
  }
  createLoadBalancer(doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
    return this.track('createLoadBalancer', doc.ID, doc, async () => {
      const subject = `load balancer ${(doc.FrontendVIPs ?? []).join(',') || '(all host addresses)'}`;
      await this.gate(loadBalancerNeeds(doc), 'HcnCreateLoadBalancer', subject);
      return this.loadBalancers.create(doc, subject);
    });
  }
  modifyLoadBalancer(id: string, doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
    return this.track('modifyLoadBalancer', id, doc, async () => {
      const subject = `load balancer ${id}`;
      await this.gate(loadBalancerNeeds(doc), 'HcnModifyLoadBalancer', subject);
      const body = { ...doc, ID: undefined };
      if ((await this.features()).ModifyLoadbalancer) {
        return this.writes.run(`lb:${id}`, () => this.loadBalancers.modify(id, { SchemaVersion: SCHEMA_V2, ...body }));
      }
      // Before HNS 15.4 there is no LB modify: delete and re-create under the same ID (hcsshim AddEndpoint).
      return this.writes.run(`lb:${id}`, async () => {
        await this.loadBalancers.get(id); // not-found before anything is deleted
        await this.loadBalancers.delete(id);
        return this.loadBalancers.create({ ...body, ID: id }, subject);
      });
    });
  }
  deleteLoadBalancer(id: string): Promise<void> {
    return this.track('deleteLoadBalancer', id, undefined, () => this.loadBalancers.delete(id));
  }

  /** HNS has no batch call: each change is its own HNS call (and call-log record), in the batch's order. */
  applyLoadBalancers(batch: LoadBalancerBatch): Promise<LoadBalancerBatchResult> {
    return applyLoadBalancersOneByOne(this, batch);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export async function open(options: ResolvedDataplaneOptions): Promise<HostNetworkService> {
  const lib = hcnLibrary(options);
  let vm: NativeLibrary | undefined;
  return new HcnDataplane(
    lib,
    () => (vm ??= vmcomputeLibrary(options)),
    options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    options.callLog,
    iphlpapiPath({ hcnLibrary: options.hcnLibrary, env: options.env }),
  );
}
