/**
 * The service proxy's sync: keeps HNS load balancers (and the remote endpoints they reference) equal to what
 * the core computes from the Services and EndpointSlices it is fed.
 *
 * - Incremental: an event marks its Service dirty; dirty Services are synced together after a short window
 *   (coalescing bursts); only their load balancers are recomputed and diffed against the in-memory model of
 *   what is programmed, so one endpoint change costs one modifyLoadBalancer (delete+create on HNS < 15.4).
 * - Full: at start and periodically it lists HNS's load balancers and endpoints, rebuilds the model from them,
 *   counts and repairs drift (an LB deleted or altered out of band, all of them after an HNS restart), and
 *   adopts what already matches (a restart costs no writes).
 * - Ownership: it changes only objects it created (ownership.ts); it refuses to start when kube-proxy's load
 *   balancers are present (coexistence.ts).
 * Programs only through the HostNetworkService interface.
 */
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { isHnsError, type HostComputeLoadBalancer } from '../../hns';
import type { HostNetworkService } from '../../dataplane/types';
import {
  isIPv4,
  loadBalancerShape,
  planService,
  remoteEndpointDocument,
  renderLoadBalancer,
  serviceKey,
  type DesiredRemoteEndpoint,
  type NodeFacts,
  type ProxyFinding,
  type ServicePlan,
} from '../core';
import { hnsCoexistenceError, looksLikeKubeProxy } from './coexistence';
import { ProxyCounters } from './counters';
import { readEndpoints, readNetwork, type EndpointIndex, type NetworkFacts, type NetworkRef } from './facts';
import { hasOwnedTag, ownedIdFor, type OwnershipRecord, type OwnershipStore } from './ownership';

export type ProxyLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type ProxyLogger = (level: ProxyLogLevel, message: string, fields?: Record<string, unknown>) => void;

export interface ServiceProxyOptions {
  hns: HostNetworkService;
  network: NetworkRef;
  nodeName: string;
  /** The node's addresses (Node.status.addresses); the first IPv4 one is the node IP. */
  nodeIPs: string[];
  /** Overlay: the reserved source VIP (required there, as for kube-proxy). */
  sourceVip?: string;
  /** Overlay: the host interface MAC, for the per-service VIP endpoints kube-proxy creates. */
  hostMac?: string;
  /** kube-proxy enableDSR: DSR on ClusterIP load balancers too. */
  enableDSR?: boolean;
  ownership: OwnershipStore;
  /** Events within this window are synced together (default 100 ms). */
  coalesceMs?: number;
  /** Full resync period (default 60 s; 0 = only at start). */
  resyncIntervalMs?: number;
  /** Take over kube-proxy-shaped load balancers that equal a desired document instead of refusing to start. */
  adoptForeign?: boolean;
  log?: ProxyLogger;
  /** Each finding once per change of its text (the caller makes events and metrics of them). */
  onFinding?: (finding: ProxyFinding) => void;
}

interface Wanted {
  identity: string;
  backends: string[];
  doc: HostComputeLoadBalancer;
}

interface Programmed {
  id: string;
  service: string;
  doc: HostComputeLoadBalancer;
}

const EMPTY_PLAN = (service: string): ServicePlan => ({ service, loadBalancers: [], remoteEndpoints: [], findings: [] });

export class ServiceProxy {
  readonly counters = new ProxyCounters();
  private readonly services = new Map<string, V1Service>();
  /** Service key → slice name → slice. */
  private readonly slices = new Map<string, Map<string, V1EndpointSlice>>();
  private network?: NetworkFacts;
  private endpoints: EndpointIndex = { local: new Map(), remote: new Map() };
  private features?: NodeFacts['features'];
  private modifySupported = false;
  /** Identity → what is programmed for it. */
  private readonly programmed = new Map<string, Programmed>();
  private readonly identitiesByService = new Map<string, Set<string>>();
  /** Remote endpoint address → services that need it, and the reverse. */
  private readonly remoteRefs = new Map<string, Set<string>>();
  private readonly remotesByService = new Map<string, Set<string>>();
  private readonly ownedLbs = new Map<string, string>();
  private readonly ownedRemotes = new Map<string, string>();
  private ownershipDirty = false;
  private readonly reported = new Map<string, string>();
  /** Remote addresses whose endpoint was recreated during the running full sync. */
  private readonly refreshBackends = new Set<string>();
  private readonly dirty = new Set<string>();
  private timer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();
  private started = false;
  private stopped = false;
  private readonly log: ProxyLogger;

  constructor(private readonly opts: ServiceProxyOptions) {
    this.log = opts.log ?? (() => undefined);
  }

  // ---- input -----------------------------------------------------------------------------------

  /** Replaces every Service and slice (the informers' initial list); no sync is scheduled. */
  replaceAll(services: readonly V1Service[], slices: readonly V1EndpointSlice[]): void {
    this.services.clear();
    this.slices.clear();
    for (const s of services) this.services.set(serviceKey(s), s);
    for (const s of slices) this.putSlice(s);
  }

  upsertService(svc: V1Service): void {
    const key = serviceKey(svc);
    this.services.set(key, svc);
    this.markDirty(key);
  }

  deleteService(svc: V1Service): void {
    const key = serviceKey(svc);
    this.services.delete(key);
    this.markDirty(key);
  }

  upsertSlice(slice: V1EndpointSlice): void {
    const key = this.putSlice(slice);
    if (key) this.markDirty(key);
  }

  deleteSlice(slice: V1EndpointSlice): void {
    const key = sliceServiceKey(slice);
    if (!key) return;
    this.slices.get(key)?.delete(slice.metadata?.name ?? '');
    this.markDirty(key);
  }

  private putSlice(slice: V1EndpointSlice): string | undefined {
    const key = sliceServiceKey(slice);
    if (!key) return undefined;
    let m = this.slices.get(key);
    if (!m) this.slices.set(key, (m = new Map()));
    m.set(slice.metadata?.name ?? '', slice);
    return key;
  }

  private markDirty(key: string): void {
    this.dirty.add(key);
    if (!this.started || this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch((e) => this.log('error', `service proxy sync failed: ${(e as Error).message}`));
    }, this.opts.coalesceMs ?? 100);
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /**
   * Checks for kube-proxy, then runs the first full sync (adopting what already matches). Feed the initial
   * Services and slices (replaceAll) before calling it. Throws KubeProxyPresentError when kube-proxy's load
   * balancers are present.
   */
  async start(): Promise<void> {
    if (!this.opts.nodeIPs.some(isIPv4)) throw new Error("proxy configuration: nodeIPs must contain the node's IPv4 address");
    const record = await this.opts.ownership.load();
    for (const [id, identity] of Object.entries(record?.loadBalancers ?? {})) this.ownedLbs.set(id.toUpperCase(), identity);
    for (const [id, ip] of Object.entries(record?.remoteEndpoints ?? {})) this.ownedRemotes.set(id.toUpperCase(), ip);
    await this.serialized(() => this.fullSync(true));
    this.started = true;
    const every = this.opts.resyncIntervalMs ?? 60_000;
    if (every > 0) {
      this.resyncTimer = setInterval(() => {
        void this.resync().catch((e) => this.log('error', `service proxy resync failed: ${(e as Error).message}`));
      }, every);
      this.resyncTimer.unref?.();
    }
    if (this.dirty.size) this.markDirty([...this.dirty][0]);
  }

  /** Stops timers; programmed load balancers stay (a restart adopts them). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.timer = undefined;
    await this.chain;
  }

  /** Syncs the dirty Services now (what the coalescing timer calls). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return this.serialized(() => this.incrementalSync());
  }

  /** A full sync now: list, repair drift, adopt. */
  resync(): Promise<void> {
    return this.serialized(() => this.fullSync(false));
  }

  /** The load balancers this proxy has programmed: identity → HNS ID. */
  programmedIds(): Map<string, string> {
    return new Map([...this.programmed].map(([k, v]) => [k, v.id]));
  }

  private serialized(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  // ---- syncs -----------------------------------------------------------------------------------

  private async incrementalSync(): Promise<void> {
    if (this.dirty.size === 0) return;
    const t0 = performance.now();
    const keys = [...this.dirty];
    this.dirty.clear();
    try {
      if (keys.some((k) => this.missingLocal(k))) this.endpoints = await readEndpoints(this.opts.hns, this.network!.id);
      await this.syncServices(keys.map((k) => [k, this.plan(k)]));
      await this.collectRemoteEndpoints();
      await this.saveOwnership();
    } catch (e) {
      // Keep the marks so the next sync (or the periodic full one) tries these Services again.
      for (const k of keys) this.dirty.add(k);
      this.counters.errors++;
      throw e;
    }
    this.counters.syncs++;
    this.counters.programmedLoadBalancers = this.programmed.size;
    this.counters.lastSyncMs = performance.now() - t0;
  }

  private async fullSync(first: boolean): Promise<void> {
    const t0 = performance.now();
    const hns = this.opts.hns;
    // Everything is recomputed below; events arriving while this runs mark their Service again.
    this.dirty.clear();
    const previousNetwork = this.network?.id;
    this.network = await readNetwork(hns, this.opts.network);
    if (this.network.type === 'Overlay' && !this.opts.sourceVip) {
      throw new Error(
        `proxy configuration: sourceVip must be set on the Overlay network ${this.network.name} (the reserved source VIP endpoint's address)`,
      );
    }
    this.features = await hns.features();
    this.modifySupported = this.features.ModifyLoadbalancer;
    this.endpoints = await readEndpoints(hns, this.network.id);
    if (previousNetwork && previousNetwork.toUpperCase() !== this.network.id.toUpperCase()) {
      this.log('warn', `network ${this.network.name} was recreated (${previousNetwork} → ${this.network.id}); reprogramming every service`);
    }
    const live = await hns.listLoadBalancers();
    const liveById = new Map(live.filter((l) => l.ID).map((l) => [l.ID!.toUpperCase(), l]));

    // Every Service's plan, to know the identities (and to recognise adoptable or tagged load balancers).
    const plans = new Map<string, ServicePlan>();
    for (const key of this.services.keys()) plans.set(key, this.plan(key));
    const identityById = new Map<string, string>();
    for (const plan of plans.values()) for (const lb of plan.loadBalancers) identityById.set(ownedIdFor(lb.identity), lb.identity);

    const owned = (id: string) => this.ownedLbs.has(id) || hasOwnedTag(id);
    const foreign = live.filter((l) => l.ID && !owned(l.ID.toUpperCase()) && looksLikeKubeProxy(l));
    let adoptable: HostComputeLoadBalancer[] = [];
    if (first && foreign.length) {
      if (!this.opts.adoptForeign) throw hnsCoexistenceError(foreign);
      adoptable = foreign;
    }

    // Drift against what this process programmed before.
    for (const p of this.programmed.values()) {
      const now = liveById.get(p.id.toUpperCase());
      if (!now) {
        this.counters.driftLoadBalancersMissing++;
        this.log('warn', `load balancer ${p.id} of ${p.service} was deleted out of band; recreating it`, { service: p.service, id: p.id });
      } else if (loadBalancerShape(now) !== loadBalancerShape(p.doc)) {
        this.counters.driftLoadBalancersAltered++;
        this.log('warn', `load balancer ${p.id} of ${p.service} was changed out of band; restoring it`, { service: p.service, id: p.id });
      }
    }
    for (const [id, ip] of this.ownedRemotes) {
      if (this.endpoints.remote.get(ip)?.toUpperCase() !== id) {
        this.counters.driftRemoteEndpointsMissing++;
        // Recreated below; the load balancers that used it are rewritten even if its ID comes back the same.
        this.refreshBackends.add(ip);
        this.ownedRemotes.delete(id);
        this.ownershipDirty = true;
      }
    }

    // Rebuild the model from HNS: owned LBs under their identity; unknown owned ones are deleted below.
    this.programmed.clear();
    this.identitiesByService.clear();
    const orphans: string[] = [];
    for (const [id, lb] of liveById) {
      if (!owned(id)) continue;
      const identity = this.ownedLbs.get(id) ?? identityById.get(id);
      const service = identity ? identity.slice(0, identity.indexOf(':')) : undefined;
      if (!identity || !service) {
        orphans.push(id);
        continue;
      }
      if (this.programmed.has(identity)) {
        orphans.push(id); // a duplicate (e.g. created twice around a crash): keep one
        continue;
      }
      this.track(identity, { id: lb.ID!, service, doc: lb });
      if (!this.ownedLbs.has(id)) {
        this.ownedLbs.set(id, identity);
        this.ownershipDirty = true;
      }
    }
    for (const id of [...this.ownedLbs.keys()]) {
      if (!liveById.has(id)) {
        this.ownedLbs.delete(id);
        this.ownershipDirty = true;
      }
    }
    for (const id of orphans) await this.deleteLb(id, 'no longer desired');
    // Services deleted while the proxy was away still have their (owned) load balancers: plan them empty.
    for (const key of this.identitiesByService.keys()) if (!plans.has(key)) plans.set(key, EMPTY_PLAN(key));

    await this.syncServices(plans, first, adoptable);
    this.refreshBackends.clear();
    await this.collectRemoteEndpoints();
    await this.saveOwnership();
    this.counters.fullSyncs++;
    this.counters.programmedLoadBalancers = this.programmed.size;
    this.counters.lastSyncMs = performance.now() - t0;
  }

  private facts(): NodeFacts {
    const net = this.network!;
    return {
      nodeName: this.opts.nodeName,
      nodeIPs: this.opts.nodeIPs,
      networkType: net.type,
      networkId: net.id,
      sourceVip: this.opts.sourceVip,
      hostMac: this.opts.hostMac,
      features: this.features!,
      localEndpoints: this.endpoints.local,
      remoteSubnets: net.remoteSubnets,
      enableDSR: this.opts.enableDSR,
    };
  }

  private plan(key: string): ServicePlan {
    const svc = this.services.get(key);
    if (!svc) return EMPTY_PLAN(key);
    return planService(svc, [...(this.slices.get(key)?.values() ?? [])], this.facts());
  }

  /** True when a slice of the service names a local address HNS's endpoint list (as last read) lacks. */
  private missingLocal(key: string): boolean {
    for (const slice of this.slices.get(key)?.values() ?? []) {
      for (const ep of slice.endpoints ?? []) {
        const ip = ep.addresses?.[0];
        if (ep.nodeName === this.opts.nodeName && isIPv4(ip) && !this.endpoints.local.has(ip)) return true;
      }
    }
    return false;
  }

  /**
   * Brings Services to their plans in two passes: first every remote endpoint they need and every load balancer
   * they no longer want (so a port or VIP moving between Services in one burst is free before it is claimed),
   * then the creates and modifies.
   */
  private async syncServices(
    entries: Iterable<[string, ServicePlan]>,
    starting = false,
    adoptable: HostComputeLoadBalancer[] = [],
  ): Promise<void> {
    const staged: [string, Wanted[]][] = [];
    for (const [key, plan] of entries) staged.push([key, await this.prepareService(key, plan)]);
    for (const [key, wanted] of staged) await this.applyService(key, wanted, starting, adoptable);
  }

  private async prepareService(key: string, plan: ServicePlan): Promise<Wanted[]> {
    this.report(plan);
    // Remote endpoints first: the load balancers reference their IDs.
    const needed = new Set<string>();
    for (const r of plan.remoteEndpoints) {
      needed.add(r.ip);
      await this.ensureRemote(r, key);
    }
    for (const ip of this.remotesByService.get(key) ?? []) {
      if (needed.has(ip)) continue;
      const refs = this.remoteRefs.get(ip);
      refs?.delete(key);
      if (refs && refs.size === 0) this.remoteRefs.delete(ip);
    }
    for (const ip of needed) {
      let refs = this.remoteRefs.get(ip);
      if (!refs) this.remoteRefs.set(ip, (refs = new Set()));
      refs.add(key);
    }
    if (needed.size) this.remotesByService.set(key, needed);
    else this.remotesByService.delete(key);

    const wanted: Wanted[] = [];
    for (const lb of plan.loadBalancers) {
      const doc = renderLoadBalancer(lb, (ip, local) => (local ? this.endpoints.local.get(ip) : this.endpoints.remote.get(ip)));
      if (doc.HostComputeEndpoints?.length) wanted.push({ identity: lb.identity, backends: lb.backends.map((b) => b.ip), doc });
    }
    // Deletes first: a Service whose port or VIP changed frees the old frontend before claiming the new one.
    const want = new Set(wanted.map((w) => w.identity));
    for (const identity of [...(this.identitiesByService.get(key) ?? [])]) {
      if (want.has(identity)) continue;
      const cur = this.programmed.get(identity)!;
      if (await this.deleteLb(cur.id, 'no longer desired')) this.untrack(identity);
    }
    return wanted;
  }

  private async applyService(key: string, wanted: Wanted[], starting: boolean, adoptable: HostComputeLoadBalancer[]): Promise<void> {
    for (const { identity, backends, doc } of wanted) {
      const cur = this.programmed.get(identity);
      if (!cur) {
        const match = adoptable.find(
          (a) => loadBalancerShape(a) === loadBalancerShape(doc) && ![...this.programmed.values()].some((p) => p.id === a.ID),
        );
        if (match) this.adopt(identity, key, match);
        else await this.createLb(identity, key, doc);
      } else if (loadBalancerShape(cur.doc) !== loadBalancerShape(doc) || backends.some((ip) => this.refreshBackends.has(ip))) {
        await this.updateLb(identity, cur, doc);
      } else if (starting) {
        this.counters.loadBalancersAdopted++;
      }
    }
  }

  private adopt(identity: string, service: string, lb: HostComputeLoadBalancer): void {
    this.track(identity, { id: lb.ID!, service, doc: lb });
    this.ownedLbs.set(lb.ID!.toUpperCase(), identity);
    this.ownershipDirty = true;
    this.counters.loadBalancersAdopted++;
    this.log('info', `adopted load balancer ${lb.ID} for ${identity}`, { service, id: lb.ID });
  }

  private track(identity: string, p: Programmed): void {
    this.programmed.set(identity, p);
    let ids = this.identitiesByService.get(p.service);
    if (!ids) this.identitiesByService.set(p.service, (ids = new Set()));
    ids.add(identity);
  }

  private untrack(identity: string): void {
    const p = this.programmed.get(identity);
    if (!p) return;
    this.programmed.delete(identity);
    const ids = this.identitiesByService.get(p.service);
    ids?.delete(identity);
    if (ids && ids.size === 0) this.identitiesByService.delete(p.service);
  }

  private async createLb(identity: string, service: string, doc: HostComputeLoadBalancer): Promise<void> {
    const id = ownedIdFor(identity);
    try {
      const created = await this.opts.hns.createLoadBalancer({ ID: id, ...doc });
      this.track(identity, { id: created.ID ?? id, service, doc: created });
      this.ownedLbs.set((created.ID ?? id).toUpperCase(), identity);
      this.ownershipDirty = true;
      this.counters.loadBalancersCreated++;
    } catch (e) {
      this.fail(e, `creating the load balancer ${identity}`, service);
    }
  }

  private async updateLb(identity: string, cur: Programmed, doc: HostComputeLoadBalancer): Promise<void> {
    if (this.modifySupported) {
      try {
        const updated = await this.opts.hns.modifyLoadBalancer(cur.id, doc);
        this.track(identity, { ...cur, doc: { ...updated, ID: cur.id } });
        this.counters.loadBalancersModified++;
        return;
      } catch (e) {
        if (isHnsError(e, 'unsupported')) {
          // kube-proxy does the same on "not implemented": fall back to delete+create from now on.
          this.modifySupported = false;
          this.log(
            'warn',
            `HNS refused modifyLoadBalancer (${(e as Error).message}); replacing load balancers by delete and create from now on`,
          );
        } else if (isHnsError(e, 'not-found')) {
          this.untrack(identity);
          this.ownedLbs.delete(cur.id.toUpperCase());
          await this.createLb(identity, cur.service, doc);
          return;
        } else {
          this.fail(e, `modifying the load balancer ${cur.id} (${identity})`, cur.service);
          return;
        }
      }
    }
    if (!(await this.deleteLb(cur.id, 'replaced'))) return;
    this.untrack(identity);
    await this.createLb(identity, cur.service, doc);
  }

  /** Deletes an owned load balancer; a missing one counts as deleted. False when HNS refused. */
  private async deleteLb(id: string, why: string): Promise<boolean> {
    const upper = id.toUpperCase();
    if (!this.ownedLbs.has(upper) && !hasOwnedTag(upper))
      throw new Error(`internal: refusing to delete load balancer ${id}, which this proxy did not create`);
    try {
      await this.opts.hns.deleteLoadBalancer(id);
      this.counters.loadBalancersDeleted++;
    } catch (e) {
      if (!isHnsError(e, 'not-found')) {
        this.fail(e, `deleting the load balancer ${id} (${why})`);
        return false;
      }
    }
    this.ownedLbs.delete(upper);
    this.ownershipDirty = true;
    return true;
  }

  private async ensureRemote(r: DesiredRemoteEndpoint, service: string): Promise<void> {
    if (this.endpoints.remote.has(r.ip)) return;
    const identity = `remote:${this.network!.id.toUpperCase()}:${r.ip}`;
    try {
      const created = await this.opts.hns.createEndpoint(this.network!.id, {
        ID: ownedIdFor(identity),
        ...remoteEndpointDocument(r, this.network!.id),
      });
      this.endpoints.remote.set(r.ip, created.ID!);
      this.ownedRemotes.set(created.ID!.toUpperCase(), r.ip);
      this.ownershipDirty = true;
      this.counters.remoteEndpointsCreated++;
    } catch (e) {
      this.fail(e, `creating the remote endpoint ${r.ip}${r.providerAddress ? ` (provider address ${r.providerAddress})` : ''}`, service);
    }
  }

  /** Deletes owned remote endpoints no Service references any more. */
  private async collectRemoteEndpoints(): Promise<void> {
    for (const [id, ip] of [...this.ownedRemotes]) {
      if (this.remoteRefs.has(ip)) continue;
      try {
        await this.opts.hns.deleteEndpoint(id);
        this.counters.remoteEndpointsDeleted++;
      } catch (e) {
        if (!isHnsError(e, 'not-found')) {
          this.fail(e, `deleting the remote endpoint ${ip} (${id})`);
          continue;
        }
      }
      this.ownedRemotes.delete(id);
      if (this.endpoints.remote.get(ip)?.toUpperCase() === id) this.endpoints.remote.delete(ip);
      this.ownershipDirty = true;
    }
  }

  private async saveOwnership(): Promise<void> {
    if (!this.ownershipDirty) return;
    const record: OwnershipRecord = {
      loadBalancers: Object.fromEntries(this.ownedLbs),
      remoteEndpoints: Object.fromEntries(this.ownedRemotes),
    };
    await this.opts.ownership.save(record);
    this.ownershipDirty = false;
  }

  private report(plan: ServicePlan): void {
    const text = plan.findings.map((f) => `${f.reason}:${f.message}`).join('\n');
    if ((this.reported.get(plan.service) ?? '') === text) return;
    if (text) this.reported.set(plan.service, text);
    else this.reported.delete(plan.service);
    for (const f of plan.findings) {
      this.counters.findings[f.reason] = (this.counters.findings[f.reason] ?? 0) + 1;
      this.log(f.severity === 'degraded' ? 'warn' : 'info', `service ${f.service}: ${f.message}`, {
        service: f.service,
        reason: f.reason,
        severity: f.severity,
      });
      this.opts.onFinding?.(f);
    }
  }

  private fail(e: unknown, what: string, service?: string): void {
    this.counters.errors++;
    this.log('error', `${what}${service ? ` for service ${service}` : ''}: ${(e as Error).message}`, { service });
    // The next full sync retries; until then the Service stays as HNS has it.
  }
}

/** The Service an EndpointSlice belongs to (label kubernetes.io/service-name). */
export function sliceServiceKey(slice: V1EndpointSlice): string | undefined {
  const name = slice.metadata?.labels?.['kubernetes.io/service-name'];
  if (!name) return undefined;
  return `${slice.metadata?.namespace ?? 'default'}/${name}`;
}
