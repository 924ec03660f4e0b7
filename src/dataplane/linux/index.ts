/**
 * The linux data plane: the HCN model realized with netlink (bridges, veths, vxlan, routes, neighbours, fdb)
 * and nftables, so the same CNI entrypoints, CLI and agent run on Linux nodes. With SWITCHYARD_LINUX_NETNS
 * (a netns path) every kernel change happens inside that node namespace (the netns lab).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AttachOptions, HnsV1Api, HostNetworkService } from '../types';
import type { ResolvedDataplaneOptions } from '../factory';
import { defaultStatePath } from '../factory';
import {
  DEFAULT_EMULATED_VERSION, EndpointFlags, HRESULT, HnsError, SCHEMA_V2, featuresFor, getCI, isHnsError, policyTypeIs,
  type HnsErrorContext, type HostComputeEndpoint, type HostComputeLoadBalancer, type HostComputeNamespace,
  type HostComputeNetwork, type HostComputeQuery, type HnsFeatures, type HnsVersion,
  type ModifyEndpointRequest, type ModifyNamespaceRequest, type ModifyNetworkRequest, type NetworkPolicy,
} from '../../hns';
import { applyPolicyRequest } from '../../hns/modify';
import { cloneJson } from '../../net/json';
import { Rtnl } from './netlink/rtnl';
import { FileV1SideStore, V1OverV2 } from '../v1-over-v2';
import { OsError } from './netlink/libc';
import { isNetnsPath, readSysctl, writeSysctl } from './netns';
import { applyRuleset, LIBNFTABLES, NftError } from './nft';
import { PolicyError, render, type RenderInput } from './ruleset';
import { AddressError, contains, intToIp, isIPv4, lastHost, parseCidr } from './addr';
import { key, loadState, saveState, withStateLock, type EndpointRecord, type LinuxState, type NetworkRecord } from './state';
import {
  BadNetworkError, OWN_LINK, applyNetworkPolicy, describeNetwork, planNetwork, realizeNetwork, removeNetwork, removeNetworkPolicy, vethName,
} from './realize-network';
import { attach, detach } from './realize-endpoint';
import { queryMatcher } from './query';
import { childProcess, randomUuid } from './lazy';

/** Options beyond DataplaneOptions, read from the environment so CNI processes and the lab can set them. */
export function linuxStatePath(o: ResolvedDataplaneOptions): string {
  const env = o.env;
  if (env.SWITCHYARD_LINUX_STATE) return env.SWITCHYARD_LINUX_STATE;
  if (!env.SWITCHYARD_STATE && o.statePath === defaultStatePath(env)) return path.join(path.dirname(o.statePath), 'linux-dataplane.json');
  return o.statePath;
}

export async function open(options: ResolvedDataplaneOptions): Promise<HostNetworkService> {
  const netns = options.env.SWITCHYARD_LINUX_NETNS || undefined;
  if (netns && !isNetnsPath(netns)) throw new HnsError(HRESULT.E_FAIL, `SWITCHYARD_LINUX_NETNS: ${netns} is not a network namespace path`, { call: 'open linux data plane' });
  const dp = new LinuxDataplane(linuxStatePath(options), netns, options.emulatedVersion ?? DEFAULT_EMULATED_VERSION, options.env);
  await dp.reconcile();
  return dp;
}

function toHnsError(e: unknown, ctx: HnsErrorContext): HnsError {
  if (isHnsError(e)) return e;
  if (e instanceof BadNetworkError || e instanceof PolicyError || e instanceof AddressError) return new HnsError(HRESULT.E_INVALIDARG, e.message, ctx, 'bad-input');
  if (e instanceof OsError && e.errno === 17) return new HnsError(HRESULT.ERROR_ALREADY_EXISTS, e.message, ctx, 'already-exists');
  if (e instanceof NftError) return new HnsError(HRESULT.E_FAIL, `${e.message}`, ctx);
  const err = e as Error & { code?: string };
  if (err?.code === 'EEXIST') return new HnsError(HRESULT.ERROR_ALREADY_EXISTS, err.message, ctx, 'already-exists');
  return new HnsError(HRESULT.E_FAIL, err?.message ?? String(e), ctx);
}

const newId = () => randomUuid().toUpperCase();
// uint64 fields (Version, InterfaceLuid) stay bigint: a clone through Number would round them.
const clone = cloneJson;

export class LinuxDataplane implements HostNetworkService {
  readonly kind = 'linux' as const;
  private rt: Rtnl;
  readonly v1: HnsV1Api;

  constructor(readonly statePath: string, readonly netns: string | undefined, private readonly ver: HnsVersion, private readonly env: NodeJS.ProcessEnv) {
    this.rt = Rtnl.open(netns);
    // The v1 (HNSCall) paths of win-bridge/win-overlay apiVersion 1, answered over the same v2 objects.
    this.v1 = new V1OverV2(this, new FileV1SideStore(`${statePath.replace(/\.json$/, '')}.v1.json`, newId));
  }

  async version(): Promise<HnsVersion> {
    return { ...this.ver };
  }

  async features(): Promise<HnsFeatures> {
    return featuresFor(this.ver);
  }

  async close(): Promise<void> {
    this.rt.close();
  }

  // ---- helpers -------------------------------------------------------------------------------------
  private read(): LinuxState {
    return loadState(this.statePath);
  }

  private async mutate<T>(call: string, subject: string, fn: (s: LinuxState) => T): Promise<T> {
    try {
      return await withStateLock(this.statePath, () => {
        const s = this.read();
        const out = fn(s);
        saveState(this.statePath, s);
        return out;
      });
    } catch (e) {
      throw toHnsError(e, { call, subject });
    }
  }

  private failpoint(name: string): void {
    // Crash injection for the "killed mid-ADD" tests (linux.endpoint.before-create, linux.endpoint.after-create,
    // linux.attach.after-links): the process dies exactly here, as with SIGKILL.
    if (this.env.SWITCHYARD_FAILPOINT === name) process.kill(process.pid, 'SIGKILL');
  }

  /**
   * Bridged IPv4 through the inet hooks (conntrack, the stateful-ACL mark, hairpin NAT), as kubelet requires.
   * Nothing to do where br_netfilter is not loaded: the sysctl does not exist and bridged traffic stays stateless.
   */
  private bridgeNetfilter(): void {
    const sysctl = 'net.bridge.bridge-nf-call-iptables';
    let current: string;
    try {
      current = readSysctl(this.netns, sysctl);
    } catch {
      return;
    }
    if (current !== '1') writeSysctl(this.netns, sysctl, '1');
  }

  private network(s: LinuxState, id: string, call: string): NetworkRecord {
    const n = s.networks[key(id)];
    if (!n) throw HnsError.of('HCN_E_NETWORK_NOT_FOUND', { call, subject: `network ${id}` });
    return n;
  }

  private endpoint(s: LinuxState, id: string, call: string): EndpointRecord {
    const e = s.endpoints[key(id)];
    if (!e) throw HnsError.of('HCN_E_ENDPOINT_NOT_FOUND', { call, subject: `endpoint ${id}` });
    return e;
  }

  /**
   * Replaces the nft tables when the rendered ruleset changed (or always, with force). `changed` names the
   * only endpoint changed since the last applied ruleset: when nothing of it can appear in the ruleset (no
   * OutBoundNAT, PortMapping or ACL policy, no load balancer using it) the ruleset cannot have changed and
   * is not rendered at all (the render was ~1.5 ms of every pod ADD and DEL).
   */
  private syncRules(s: LinuxState, force = false, changed?: EndpointRecord): void {
    if (!force && changed && s.ruleset !== undefined && !rendersAnything(s, changed)) return;
    const text = render(renderInput(s));
    if (!force && text === s.ruleset) return;
    applyRuleset(this.netns, text, this.env.SWITCHYARD_LIBNFTABLES || LIBNFTABLES);
    s.ruleset = text;
  }

  // ---- networks ------------------------------------------------------------------------------------
  async listNetworks(query?: HostComputeQuery): Promise<HostComputeNetwork[]> {
    return Object.values(this.read().networks).map(describeNetwork).filter(queryMatcher(query)).map(clone);
  }

  async getNetwork(id: string): Promise<HostComputeNetwork> {
    return clone(describeNetwork(this.network(this.read(), id, 'HcnOpenNetwork')));
  }

  async createNetwork(doc: HostComputeNetwork): Promise<HostComputeNetwork> {
    const id = doc.ID ?? newId();
    return this.mutate('HcnCreateNetwork', `network ${doc.Name ?? id}`, (s) => {
      if (s.networks[key(id)]) throw HnsError.of('HCN_E_NETWORK_ALREADY_EXISTS', { call: 'HcnCreateNetwork', subject: `network ${id}` });
      const stored: HostComputeNetwork = { ...clone(doc), ID: id, SchemaVersion: { ...SCHEMA_V2 } };
      const rec = planNetwork(stored, id, this.rt);
      realizeNetwork(this.rt, rec);
      try {
        writeSysctl(this.netns, 'net.ipv4.ip_forward', '1');
        if (rec.bridge) this.bridgeNetfilter();
        s.networks[key(id)] = rec;
        this.syncRules(s);
      } catch (e) {
        delete s.networks[key(id)];
        removeNetwork(this.rt, rec);
        throw e;
      }
      return clone(describeNetwork(rec));
    });
  }

  async modifyNetwork(id: string, request: ModifyNetworkRequest): Promise<HostComputeNetwork> {
    return this.mutate('HcnModifyNetwork', `network ${id}`, (s) => {
      const rec = this.network(s, id, 'HcnModifyNetwork');
      if (request.ResourceType === 'DNS') {
        rec.doc.Dns = clone(request.Settings);
      } else if (request.ResourceType === 'Policy') {
        const policies = (request.Settings?.Policies ?? []) as NetworkPolicy[];
        const sameAs = (a: NetworkPolicy, b: NetworkPolicy) => policyTypeIs(a, String(b.Type)) && JSON.stringify(a.Settings ?? {}) === JSON.stringify(b.Settings ?? {});
        const sameRoute = (a: NetworkPolicy, b: NetworkPolicy) => policyTypeIs(a, 'RemoteSubnetRoute') && policyTypeIs(b, 'RemoteSubnetRoute')
          && getCI(a.Settings, 'DestinationPrefix') === getCI(b.Settings, 'DestinationPrefix');
        if (request.RequestType === 'Remove') {
          for (const p of policies) {
            const existing = (rec.doc.Policies ?? []).filter((x) => sameAs(x, p) || sameRoute(x, p));
            if (!existing.length) throw HnsError.of('HCN_E_POLICY_NOT_FOUND', { call: 'HcnModifyNetwork', subject: `network ${id} policy ${String(p.Type)}` });
            for (const x of existing) removeNetworkPolicy(this.rt, rec, x);
            rec.doc.Policies = (rec.doc.Policies ?? []).filter((x) => !existing.includes(x));
          }
        } else if (request.RequestType === 'Add' || request.RequestType === 'Update') {
          const applied: NetworkPolicy[] = [];
          try {
            for (const p of policies) {
              const replaced = (rec.doc.Policies ?? []).filter((x) => sameRoute(x, p));
              if (request.RequestType === 'Add' && (rec.doc.Policies ?? []).some((x) => sameAs(x, p))) {
                throw HnsError.of('HCN_E_POLICY_ALREADY_EXISTS', { call: 'HcnModifyNetwork', subject: `network ${id} policy ${String(p.Type)}` }, `${String(p.Type)} ${JSON.stringify(p.Settings ?? {})}`);
              }
              for (const x of replaced) removeNetworkPolicy(this.rt, rec, x);
              rec.doc.Policies = [...(rec.doc.Policies ?? []).filter((x) => !replaced.includes(x)), clone(p)];
              applyNetworkPolicy(this.rt, rec, p);
              applied.push(p);
            }
          } catch (e) {
            for (const p of applied) removeNetworkPolicy(this.rt, rec, p);
            throw e;
          }
        } else {
          throw HnsError.of('HCN_E_REQUEST_UNSUPPORTED', { call: 'HcnModifyNetwork', subject: `network ${id}` }, `RequestType ${request.RequestType} is not supported for network policies`);
        }
      } else {
        throw HnsError.of('HCN_E_REQUEST_UNSUPPORTED', { call: 'HcnModifyNetwork', subject: `network ${id}` }, `ResourceType ${request.ResourceType} is not supported by the linux data plane`);
      }
      return clone(describeNetwork(rec));
    });
  }

  async deleteNetwork(id: string): Promise<void> {
    await this.mutate('HcnDeleteNetwork', `network ${id}`, (s) => {
      const rec = this.network(s, id, 'HcnDeleteNetwork');
      // As HNS: a network that still has endpoints stays, with everything on it (callers delete endpoints first).
      const eps = Object.values(s.endpoints).filter((ep) => ep.doc.HostComputeNetwork && key(ep.doc.HostComputeNetwork) === key(id));
      if (eps.length) {
        throw HnsError.of('HCN_E_ENTITY_HAS_REFERENCES', { call: 'HcnDeleteNetwork', subject: `network ${rec.doc.Name ?? id}` },
          `${eps.length} endpoint(s) still on network ${rec.doc.Name ?? id}: ${eps.slice(0, 3).map((e) => e.doc.Name ?? e.doc.ID).join(', ')}${eps.length > 3 ? ', ...' : ''}`);
      }
      removeNetwork(this.rt, rec);
      delete s.networks[key(id)];
      this.syncRules(s);
    });
  }

  // ---- endpoints -----------------------------------------------------------------------------------
  /** Filtered lists and gets show the kernel's truth (see liveView); an unfiltered list is the record. */
  async listEndpoints(query?: HostComputeQuery): Promise<HostComputeEndpoint[]> {
    const matches = queryMatcher(query);
    const found = Object.values(this.read().endpoints).filter((e) => matches(e.doc));
    return found.map((e) => (query?.Filter ? liveView(e) : clone(e.doc)));
  }

  async getEndpoint(id: string): Promise<HostComputeEndpoint> {
    return liveView(this.endpoint(this.read(), id, 'HcnOpenEndpoint'));
  }

  async createEndpoint(networkId: string, doc: HostComputeEndpoint): Promise<HostComputeEndpoint> {
    const id = doc.ID ?? newId();
    // In a CNI ADD the IPAM reservation exists by now: the first of the three crash points of that path.
    this.failpoint('linux.endpoint.before-create');
    const created = await this.mutate('HcnCreateEndpoint', `endpoint ${doc.Name ?? id}`, (s) => {
      const net = this.network(s, networkId, 'HcnCreateEndpoint');
      if (s.endpoints[key(id)]) throw HnsError.of('ERROR_ALREADY_EXISTS', { call: 'HcnCreateEndpoint', subject: `endpoint ${id}` });
      if (doc.HostComputeNamespace) throw new BadNetworkError('HostComputeNamespace is read-only: attach the endpoint to a namespace instead');
      const stored: HostComputeEndpoint = { ...clone(doc), ID: id, HostComputeNetwork: net.doc.ID, SchemaVersion: { ...SCHEMA_V2 } };
      const remote = ((doc.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0;
      const ipc = stored.IpConfigurations?.[0];
      const peers = Object.values(s.endpoints).filter((e) => key(e.doc.HostComputeNetwork ?? '') === key(net.doc.ID!));
      if (ipc?.IpAddress) {
        if (!isIPv4(ipc.IpAddress)) throw new BadNetworkError(`IpConfigurations[0].IpAddress: "${ipc.IpAddress}" is not an IPv4 address`);
        if (!remote && net.subnet && !contains(parseCidr(net.subnet, 'subnet'), ipc.IpAddress)) {
          throw HnsError.of('HCN_E_ADDR_INVALID_OR_RESERVED', { call: 'HcnCreateEndpoint', subject: `endpoint ${id}` }, `IpConfigurations[0].IpAddress ${ipc.IpAddress} is outside the network's subnet ${net.subnet}`);
        }
        if (peers.some((e) => e.doc.IpConfigurations?.[0]?.IpAddress === ipc.IpAddress)) {
          throw HnsError.of('HCN_E_ADDR_INVALID_OR_RESERVED', { call: 'HcnCreateEndpoint', subject: `endpoint ${id}` }, `IpConfigurations[0].IpAddress ${ipc.IpAddress} is already used by another endpoint`);
        }
      } else if (net.subnet && !remote) {
        stored.IpConfigurations = [{ IpAddress: allocate(net, peers), PrefixLength: Number(net.subnet.split('/')[1]) }];
      }
      const ip = stored.IpConfigurations?.[0]?.IpAddress;
      if (ip && stored.IpConfigurations![0].PrefixLength === undefined && net.subnet) stored.IpConfigurations![0].PrefixLength = Number(net.subnet.split('/')[1]);
      if (!stored.MacAddress && ip) stored.MacAddress = ['0E', '2A', ...ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase())].join('-');
      s.endpoints[key(id)] = { doc: stored };
      this.syncRules(s, false, s.endpoints[key(id)]);
      return clone(stored);
    });
    this.failpoint('linux.endpoint.after-create');
    return created;
  }

  async modifyEndpoint(id: string, request: ModifyEndpointRequest): Promise<HostComputeEndpoint> {
    return this.mutate('HcnModifyEndpoint', `endpoint ${id}`, (s) => {
      const ep = this.endpoint(s, id, 'HcnModifyEndpoint');
      if (request.ResourceType !== 'Policy') throw HnsError.of('HCN_E_REQUEST_UNSUPPORTED', { call: 'HcnModifyEndpoint', subject: `endpoint ${id}` }, `ResourceType ${request.ResourceType} is not supported by the linux data plane`);
      const before = ep.doc.Policies;
      // HNS semantics (src/hns/modify.ts): an Update replaces only the policy types it carries.
      ep.doc.Policies = applyPolicyRequest(before ?? [], clone(request.Settings.Policies ?? []), request.RequestType, { call: 'HcnModifyEndpoint', subject: `endpoint ${id}` });
      try {
        this.syncRules(s);
      } catch (e) {
        ep.doc.Policies = before;
        throw e;
      }
      return clone(ep.doc);
    });
  }

  async deleteEndpoint(id: string): Promise<void> {
    await this.mutate('HcnDeleteEndpoint', `endpoint ${id}`, (s) => {
      const ep = this.endpoint(s, id, 'HcnDeleteEndpoint');
      detach(this.rt, s.networks[key(ep.doc.HostComputeNetwork ?? '')], ep);
      delete s.endpoints[key(id)];
      for (const ns of Object.values(s.namespaces)) ns.doc.Resources = (ns.doc.Resources ?? []).filter((r) => !(r.Type === 'Endpoint' && key(String(r.Data.ID ?? r.Data.Id ?? '')) === key(id)));
      this.syncRules(s, false, ep);
    });
  }

  // ---- namespaces ----------------------------------------------------------------------------------
  async listNamespaces(query?: HostComputeQuery): Promise<HostComputeNamespace[]> {
    return Object.values(this.read().namespaces).map((n) => n.doc).filter(queryMatcher(query)).map(clone);
  }

  async getNamespace(id: string): Promise<HostComputeNamespace> {
    const n = this.read().namespaces[key(id)];
    if (!n) throw HnsError.of('ERROR_NOT_FOUND', { call: 'HcnOpenNamespace', subject: `namespace ${id}` });
    return clone(n.doc);
  }

  /** A namespace whose ID is a netns path registers that namespace; otherwise a named netns is created. */
  async createNamespace(doc: HostComputeNamespace): Promise<HostComputeNamespace> {
    const id = doc.ID ?? newId();
    return this.mutate('HcnCreateNamespace', `namespace ${id}`, (s) => {
      if (s.namespaces[key(id)]) throw HnsError.of('ERROR_ALREADY_EXISTS', { call: 'HcnCreateNamespace', subject: `namespace ${id}` });
      let nsPath = id;
      let created = false;
      if (id.startsWith('/')) {
        if (!isNetnsPath(id)) throw new BadNetworkError(`ID: ${id} is not a network namespace path (e.g. /var/run/netns/<name>)`);
      } else {
        const name = `sy-${id.replace(/-/g, '').slice(0, 12).toLowerCase()}`;
        childProcess().execFileSync('ip', ['netns', 'add', name], { stdio: ['ignore', 'ignore', 'pipe'] });
        nsPath = `/var/run/netns/${name}`;
        created = true;
      }
      const stored: HostComputeNamespace = { Type: 'HostDefault', Resources: [], ...clone(doc), ID: id, SchemaVersion: { ...SCHEMA_V2 } };
      s.namespaces[key(id)] = { doc: stored, path: nsPath, created };
      return clone(stored);
    });
  }

  async modifyNamespace(id: string, request: ModifyNamespaceRequest): Promise<HostComputeNamespace> {
    if (request.ResourceType === 'Endpoint') {
      const ep = request.Settings.EndpointId;
      if (request.RequestType === 'Remove') await this.detachEndpoint(id, ep);
      else await this.attachEndpoint(id, ep);
      const n = this.read().namespaces[key(id)];
      return clone(n ? n.doc : { ID: id, Type: 'HostDefault', Resources: [{ Type: 'Endpoint', Data: { ID: ep } }], SchemaVersion: { ...SCHEMA_V2 } });
    }
    throw HnsError.of('HCN_E_REQUEST_UNSUPPORTED', { call: 'HcnModifyNamespace', subject: `namespace ${id}` }, `ResourceType ${request.ResourceType} is not supported by the linux data plane`);
  }

  async deleteNamespace(id: string): Promise<void> {
    await this.mutate('HcnDeleteNamespace', `namespace ${id}`, (s) => {
      const n = s.namespaces[key(id)];
      if (!n) throw HnsError.of('ERROR_NOT_FOUND', { call: 'HcnDeleteNamespace', subject: `namespace ${id}` });
      for (const ep of Object.values(s.endpoints)) {
        if (ep.attached && ep.netns === n.path) {
          detach(this.rt, s.networks[key(ep.doc.HostComputeNetwork ?? '')], ep);
          markDetached(ep);
        }
      }
      if (n.created) childProcess().execFileSync('ip', ['netns', 'del', path.basename(n.path)], { stdio: ['ignore', 'ignore', 'pipe'] });
      delete s.namespaces[key(id)];
      this.syncRules(s);
    });
  }

  private nsPath(s: LinuxState, namespaceId: string, call: string): string {
    const reg = s.namespaces[key(namespaceId)];
    if (reg) return reg.path;
    if (namespaceId.startsWith('/') && isNetnsPath(namespaceId)) return namespaceId;
    throw HnsError.of('ERROR_NOT_FOUND', { call, subject: `namespace ${namespaceId}` }, `${namespaceId} is neither a registered namespace nor a network namespace path`);
  }

  async attachEndpoint(namespaceId: string, endpointId: string, options?: AttachOptions): Promise<void> {
    const call = 'HcnModifyNamespace(Add Endpoint)';
    const ifname = options?.interfaceName ?? 'eth0';
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifname)) throw new HnsError(HRESULT.E_INVALIDARG, `interfaceName: "${ifname}" is not a Linux interface name (1-15 letters, digits, _ . -)`, { call, subject: `endpoint ${endpointId}` }, 'bad-input');
    await this.mutate(call, `endpoint ${endpointId}`, (s) => {
      const ep = this.endpoint(s, endpointId, call);
      const nsPath = this.nsPath(s, namespaceId, call);
      if ((ep.doc.Flags ?? 0) & EndpointFlags.RemoteEndpoint) throw HnsError.of('HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION', { call, subject: `endpoint ${endpointId}` });
      const net = this.network(s, ep.doc.HostComputeNetwork ?? '', call);
      if (ep.attached) {
        // An attachment whose pod interface vanished (netns deleted, link removed) is stale: clear it and re-attach.
        if (liveView(ep).HostComputeNamespace) throw HnsError.of('HCN_E_ENDPOINT_ALREADY_ATTACHED', { call, subject: `endpoint ${endpointId}` }, `endpoint is already attached to ${ep.netns}`);
        detach(this.rt, net, ep);
        markDetached(ep);
      }
      if (net.type === 'Transparent') {
        // A macvlan lives only inside the pod namespace, where the orphan sweep cannot see it: record the
        // intent before creating it so reconcile finds it after a crash. (Host veths are found by name.)
        ep.attaching = { netns: nsPath, ifname };
        saveState(this.statePath, s);
      }
      let linked = false;
      try {
        const r = attach(this.rt, net, ep, nsPath, ifname, vethName(ep.doc.ID!));
        linked = true;
        this.failpoint('linux.attach.after-links');
        ep.veth = r.veth;
        ep.netns = nsPath;
        ep.ifname = ifname;
        ep.attached = true;
        delete ep.attaching;
        this.syncRules(s, false, ep);
      } catch (e) {
        // attach() removes what it created when it fails itself; later failures (nft) undo the links here.
        if (linked) detach(this.rt, net, { ...ep, netns: nsPath, ifname, veth: net.type === 'Transparent' ? undefined : vethName(ep.doc.ID!) });
        markDetached(ep);
        throw e;
      }
      const ns = s.namespaces[key(namespaceId)];
      if (ns) ns.doc.Resources = [...(ns.doc.Resources ?? []), { Type: 'Endpoint', Data: { ID: ep.doc.ID } }];
      ep.doc.HostComputeNamespace = ns ? ns.doc.ID : nsPath;
    });
  }

  async detachEndpoint(namespaceId: string, endpointId: string): Promise<void> {
    const call = 'HcnModifyNamespace(Remove Endpoint)';
    await this.mutate(call, `endpoint ${endpointId}`, (s) => {
      const ep = this.endpoint(s, endpointId, call);
      const nsPath = this.nsPath(s, namespaceId, call);
      if (!ep.attached || ep.netns !== nsPath) throw HnsError.of('HCN_E_ENDPOINT_NOT_ATTACHED', { call, subject: `endpoint ${endpointId}` }, `endpoint is not attached to ${namespaceId}`);
      detach(this.rt, s.networks[key(ep.doc.HostComputeNetwork ?? '')], ep);
      markDetached(ep);
      const ns = s.namespaces[key(namespaceId)];
      if (ns) ns.doc.Resources = (ns.doc.Resources ?? []).filter((r) => !(r.Type === 'Endpoint' && key(String(r.Data.ID ?? r.Data.Id ?? '')) === key(endpointId)));
      this.syncRules(s, false, ep);
    });
  }

  // ---- load balancers ------------------------------------------------------------------------------
  async listLoadBalancers(query?: HostComputeQuery): Promise<HostComputeLoadBalancer[]> {
    return Object.values(this.read().loadBalancers).filter(queryMatcher(query)).map(clone);
  }

  async getLoadBalancer(id: string): Promise<HostComputeLoadBalancer> {
    const lb = this.read().loadBalancers[key(id)];
    if (!lb) throw HnsError.of('ERROR_NOT_FOUND', { call: 'HcnOpenLoadBalancer', subject: `load balancer ${id}` });
    return clone(lb);
  }

  private putLoadBalancer(call: string, id: string, doc: HostComputeLoadBalancer, mustExist: boolean): Promise<HostComputeLoadBalancer> {
    return this.mutate(call, `load balancer ${id}`, (s) => {
      const existing = s.loadBalancers[key(id)];
      if (mustExist && !existing) throw HnsError.of('ERROR_NOT_FOUND', { call, subject: `load balancer ${id}` });
      if (!mustExist && existing) throw HnsError.of('ERROR_ALREADY_EXISTS', { call, subject: `load balancer ${id}` });
      for (const epId of doc.HostComputeEndpoints ?? []) this.endpoint(s, epId, call);
      const stored: HostComputeLoadBalancer = { ...clone(doc), ID: id, SchemaVersion: { ...SCHEMA_V2 } };
      s.loadBalancers[key(id)] = stored;
      try {
        this.syncRules(s);
      } catch (e) {
        if (existing) s.loadBalancers[key(id)] = existing;
        else delete s.loadBalancers[key(id)];
        throw e;
      }
      return clone(stored);
    });
  }

  async createLoadBalancer(doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
    return this.putLoadBalancer('HcnCreateLoadBalancer', doc.ID ?? newId(), doc, false);
  }

  async modifyLoadBalancer(id: string, doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
    return this.putLoadBalancer('HcnModifyLoadBalancer', id, doc, true);
  }

  async deleteLoadBalancer(id: string): Promise<void> {
    await this.mutate('HcnDeleteLoadBalancer', `load balancer ${id}`, (s) => {
      if (!s.loadBalancers[key(id)]) throw HnsError.of('ERROR_NOT_FOUND', { call: 'HcnDeleteLoadBalancer', subject: `load balancer ${id}` });
      delete s.loadBalancers[key(id)];
      this.syncRules(s);
    });
  }

  // ---- restart -------------------------------------------------------------------------------------
  /**
   * Brings the kernel back in line with the state file: recreates networks whose links are gone (reboot),
   * removes links left by an interrupted attach or by objects no longer recorded, forgets attachments whose
   * links disappeared, and reapplies the nft tables when anything was rebuilt.
   */
  private needsReconcile(s: LinuxState): boolean {
    const all = this.rt.links();
    const byName = new Map(all.map((l) => [l.name, l]));
    const wanted = new Set<string>();
    for (const rec of Object.values(s.networks)) {
      for (const name of [rec.bridge, rec.vxlan]) {
        if (!name) continue;
        if (!byName.has(name)) return true;
        wanted.add(name);
      }
    }
    for (const ep of Object.values(s.endpoints)) {
      if (ep.attaching && !ep.attached) return true;
      if (!ep.attached || !ep.veth) continue;
      const veth = byName.get(ep.veth);
      const br = byName.get(s.networks[key(ep.doc.HostComputeNetwork ?? '')]?.bridge ?? '');
      if (!veth || (br && veth.master !== br.index)) return true;
      wanted.add(ep.veth);
    }
    return all.some((l) => OWN_LINK.test(l.name) && !wanted.has(l.name));
  }

  async reconcile(): Promise<{ removedLinks: string[]; rebuiltNetworks: string[]; abandonedAttaches: string[] }> {
    const report = { removedLinks: [] as string[], rebuiltNetworks: [] as string[], abandonedAttaches: [] as string[] };
    if (!fs.existsSync(this.statePath)) {
      // Nothing recorded: any link with our names is a leftover of a crashed first run.
      await withStateLock(this.statePath, () => {
        if (fs.existsSync(this.statePath)) return;
        for (const l of this.rt.links()) if (OWN_LINK.test(l.name) && this.rt.deleteLink(l.name)) report.removedLinks.push(l.name);
      });
      return report;
    }
    // Fast path for per-pod processes: nothing to repair means no lock and no state write.
    if (!this.needsReconcile(this.read())) return report;
    await this.mutate('reconcile', this.netns ?? 'host', (s) => {
      const all = this.rt.links();
      const links = new Set(all.map((l) => l.name));
      let rebuild = false;
      for (const rec of Object.values(s.networks)) {
        if ((rec.bridge && !links.has(rec.bridge)) || (rec.vxlan && !links.has(rec.vxlan))) {
          realizeNetwork(this.rt, rec);
          writeSysctl(this.netns, 'net.ipv4.ip_forward', '1');
          if (rec.bridge) this.bridgeNetfilter();
          report.rebuiltNetworks.push(rec.doc.ID!);
          rebuild = true;
        }
      }
      const wanted = new Set<string>();
      for (const rec of Object.values(s.networks)) {
        if (rec.bridge) wanted.add(rec.bridge);
        if (rec.vxlan) wanted.add(rec.vxlan);
      }
      for (const ep of Object.values(s.endpoints)) {
        if (ep.attaching && !ep.attached) {
          detach(this.rt, s.networks[key(ep.doc.HostComputeNetwork ?? '')], ep);
          markDetached(ep);
          report.abandonedAttaches.push(ep.doc.ID!);
          rebuild = true;
        } else if (ep.attached && ep.veth && !links.has(ep.veth)) {
          markDetached(ep);
          rebuild = true;
        } else if (ep.attached && ep.veth) {
          wanted.add(ep.veth);
          // A rebuilt bridge has no ports: put surviving pod veths back on it.
          const br = s.networks[key(ep.doc.HostComputeNetwork ?? '')]?.bridge;
          const brLink = br ? this.rt.linkByName(br) : undefined;
          const veth = all.find((l) => l.name === ep.veth);
          if (brLink && veth && veth.master !== brLink.index) this.rt.setLink(veth.index, { master: brLink.index, up: true }, ep.veth);
        }
      }
      for (const name of links) {
        if (OWN_LINK.test(name) && !wanted.has(name) && this.rt.deleteLink(name)) report.removedLinks.push(name);
      }
      if (rebuild || report.rebuiltNetworks.length) this.syncRules(s, true);
    });
    return report;
  }
}

/**
 * The endpoint as the kernel has it: an attached endpoint whose pod interface is gone is reported without
 * HostComputeNamespace, and only the addresses still on the interface are reported, so CNI CHECK notices a
 * deleted link or address the way HNS reports a missing port.
 */
function liveView(ep: EndpointRecord): HostComputeEndpoint {
  const doc = clone(ep.doc);
  if (!ep.attached || !ep.netns || !ep.ifname) return doc;
  if (!fs.existsSync(ep.netns)) {
    delete doc.HostComputeNamespace;
    return doc;
  }
  let pod: Rtnl | undefined;
  try {
    pod = Rtnl.open(ep.netns);
    const link = pod.linkByName(ep.ifname);
    if (!link) {
      delete doc.HostComputeNamespace;
      return doc;
    }
    const have = new Set(pod.addresses(link.index).map((a) => `${a.ip}/${a.prefixLen}`));
    doc.IpConfigurations = (doc.IpConfigurations ?? []).filter((c) => !c.IpAddress || have.has(`${c.IpAddress}/${c.PrefixLength ?? 32}`));
    return doc;
  } catch {
    return doc;
  } finally {
    pod?.close();
  }
}

function markDetached(ep: EndpointRecord): void {
  delete ep.attaching;
  delete ep.attached;
  delete ep.netns;
  delete ep.ifname;
  delete ep.veth;
  delete ep.doc.HostComputeNamespace;
}

function allocate(net: NetworkRecord, peers: EndpointRecord[]): string {
  const c = parseCidr(net.subnet!, 'subnet');
  const used = new Set(peers.map((e) => e.doc.IpConfigurations?.[0]?.IpAddress).filter(Boolean) as string[]);
  if (net.gateway) used.add(net.gateway);
  for (let n = c.network + 2; n <= lastHost(c); n++) {
    const ip = intToIp(n);
    if (!used.has(ip)) return ip;
  }
  throw HnsError.of('HCN_E_ADDR_INVALID_OR_RESERVED', { call: 'HcnCreateEndpoint', subject: `network ${net.doc.ID}` }, `no free address left in ${net.subnet}`);
}

/** Endpoint policies the nft renderer turns into rules (see ruleset.ts); every other type renders nothing. */
const NFT_POLICY_TYPES = ['OutBoundNAT', 'PortMapping', 'ACL'];

/** Whether `ep` (added, removed, attached or detached) contributes anything to the rendered ruleset. */
function rendersAnything(s: LinuxState, ep: EndpointRecord): boolean {
  if ((ep.doc.Policies ?? []).some((p) => NFT_POLICY_TYPES.some((t) => policyTypeIs(p, t)))) return true;
  const id = key(ep.doc.ID ?? '');
  return Object.values(s.loadBalancers).some((lb) => (lb.HostComputeEndpoints ?? []).some((e) => key(e) === id));
}

/** What the nft renderer needs from the state: bridges, endpoints with their addresses, LB backends. */
export function renderInput(s: LinuxState): RenderInput {
  const nets = s.networks;
  return {
    bridges: Object.values(nets).filter((n) => n.bridge).map((n) => ({ name: n.bridge!, subnet: n.subnet!, nat: n.type === 'NAT' })),
    endpoints: Object.values(s.endpoints).filter((e) => ((e.doc.Flags ?? 0) & EndpointFlags.RemoteEndpoint) === 0).map((e) => ({
      id: e.doc.ID!,
      ip: e.doc.IpConfigurations?.[0]?.IpAddress,
      veth: e.attached ? e.veth : undefined,
      bridge: nets[key(e.doc.HostComputeNetwork ?? '')]?.bridge,
      policies: e.doc.Policies ?? [],
    })),
    loadBalancers: Object.values(s.loadBalancers).map((lb) => ({
      id: lb.ID!,
      doc: lb,
      backends: (lb.HostComputeEndpoints ?? []).map((id) => s.endpoints[key(id)]?.doc.IpConfigurations?.[0]?.IpAddress).filter((x): x is string => !!x),
    })),
  };
}

