/**
 * The service proxy's sync: keeps HNS load balancers (and the remote endpoints they reference) equal to what
 * the core computes from the Services and EndpointSlices it is fed.
 *
 * - Incremental: an event marks its Service dirty; dirty Services are synced together after a short window
 *   (coalescing bursts); only their load balancers are recomputed and diffed against the in-memory model of
 *   what is programmed (model.ts), so one endpoint change costs one modifyLoadBalancer (delete+create on
 *   HNS < 15.4). All the load-balancer changes of a sync go to HNS as one batch (lb-writer.ts).
 * - Full: at start and periodically it lists HNS's load balancers and endpoints, rebuilds the model from them,
 *   counts and repairs drift (full-sync.ts), and adopts what already matches (a restart costs no writes).
 * - Ownership: it changes only objects it created (owned.ts); it refuses to start when kube-proxy's load
 *   balancers are present (coexistence.ts).
 * Programs only through the HostNetworkService interface.
 */
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { HostComputeLoadBalancer } from '../../hns';
import type { HostNetworkService } from '../../dataplane/types';
import {
  healthCheckOf,
  isIPv4,
  loadBalancerShape,
  planService,
  renderLoadBalancer,
  serviceKey,
  type HealthCheckService,
  type NodeFacts,
  type ProxyFinding,
  type ServicePlan,
} from '../core';
import { ProxyCounters } from './counters';
import type { ProxyLogger, SyncContext } from './context';
import { readEndpoints, type EndpointIndex, type NetworkFacts, type NetworkRef } from './facts';
import { FindingReporter } from './findings';
import { LbChanges, LoadBalancerWriter } from './lb-writer';
import { ProgrammedModel } from './model';
import { OwnedObjects } from './owned';
import type { OwnershipStore } from './ownership';
import { RemoteEndpoints } from './remotes';
import { readHost, rebuildModel } from './full-sync';

export type { ProxyLogLevel, ProxyLogger } from './context';

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
  /** After every sync, successful or not (the caller updates what follows the programmed state: health checks). */
  onSynced?: () => void;
}

interface Wanted {
  identity: string;
  backends: string[];
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
  private readonly model = new ProgrammedModel();
  private readonly owned: OwnedObjects;
  private readonly ctx: SyncContext;
  private readonly writer: LoadBalancerWriter;
  private readonly remotes: RemoteEndpoints;
  private readonly findings: FindingReporter;
  private readonly dirty = new Set<string>();
  /** Service key → its health check node port, for the Services that have one. */
  private readonly health = new Map<string, HealthCheckService>();
  private timer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();
  private started = false;
  private stopped = false;
  private lastSyncOk = true;
  private readonly log: ProxyLogger;

  constructor(private readonly opts: ServiceProxyOptions) {
    this.log = opts.log ?? (() => undefined);
    this.ctx = { hns: opts.hns, counters: this.counters, log: this.log };
    this.owned = new OwnedObjects(opts.ownership);
    this.writer = new LoadBalancerWriter(this.ctx, this.model, this.owned);
    this.remotes = new RemoteEndpoints(
      this.ctx,
      this.owned,
      () => this.network!.id,
      () => this.endpoints,
    );
    this.findings = new FindingReporter(this.counters, this.log, opts.onFinding);
  }

  // ---- input -----------------------------------------------------------------------------------

  /** Replaces every Service and slice (the informers' initial list); no sync is scheduled. */
  replaceAll(services: readonly V1Service[], slices: readonly V1EndpointSlice[]): void {
    this.services.clear();
    this.slices.clear();
    for (const s of services) this.services.set(serviceKey(s), s);
    for (const s of slices) this.putSlice(s);
    this.health.clear();
    for (const key of this.services.keys()) this.refreshHealth(key);
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
    this.refreshHealth(key);
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
    await this.owned.load();
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

  /** The health check node ports this node serves (ETP Local LoadBalancer Services), from the current input. */
  healthChecks(): HealthCheckService[] {
    return [...this.health.values()];
  }

  /** Recomputes Service `key`'s health check from its input (kept per Service: a sync reads, never scans). */
  private refreshHealth(key: string): void {
    const svc = this.services.get(key);
    const h = svc && healthCheckOf(svc, [...(this.slices.get(key)?.values() ?? [])], this.opts.nodeName);
    if (h) this.health.set(key, h);
    else this.health.delete(key);
  }

  /** kube-proxy's serviceProxyHealthy: started, not stopped, and the last sync programmed what it had to. */
  healthy(): boolean {
    return this.started && !this.stopped && this.lastSyncOk;
  }

  /** The load balancers this proxy has programmed: identity → HNS ID. */
  programmedIds(): Map<string, string> {
    return new Map([...this.model.entries()].map(([k, v]) => [k, v.id]));
  }

  private serialized(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn).then(
      () => {
        this.lastSyncOk = true;
        this.synced();
      },
      (e: unknown) => {
        this.lastSyncOk = false;
        this.synced();
        throw e;
      },
    );
    this.chain = run.catch(() => undefined);
    return run;
  }

  private synced(): void {
    try {
      this.opts.onSynced?.();
    } catch (e) {
      this.log('error', `after-sync hook failed: ${(e as Error).message}`);
    }
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
      await this.remotes.collect();
      await this.owned.save();
    } catch (e) {
      // Keep the marks so the next sync (or the periodic full one) tries these Services again.
      for (const k of keys) this.dirty.add(k);
      this.counters.errors++;
      throw e;
    }
    this.counters.syncs++;
    this.counters.programmedLoadBalancers = this.model.size;
    this.counters.lastSyncMs = performance.now() - t0;
  }

  private async fullSync(first: boolean): Promise<void> {
    const t0 = performance.now();
    // Everything is recomputed below; events arriving while this runs mark their Service again.
    this.dirty.clear();
    const previousNetwork = this.network?.id;
    const host = await readHost(this.opts.hns, this.opts.network, this.opts.sourceVip);
    this.network = host.network;
    this.features = host.features;
    this.writer.modifySupported = host.features.ModifyLoadbalancer;
    this.endpoints = host.endpoints;
    if (previousNetwork && previousNetwork.toUpperCase() !== this.network.id.toUpperCase()) {
      this.log('warn', `network ${this.network.name} was recreated (${previousNetwork} → ${this.network.id}); reprogramming every service`);
    }

    // Every Service's plan, to know the identities (and to recognise adoptable or tagged load balancers).
    const plans = new Map<string, ServicePlan>();
    for (const key of this.services.keys()) plans.set(key, this.plan(key));
    const { orphans, adoptable, refreshBackends } = rebuildModel(
      { ...this.ctx, model: this.model, owned: this.owned, endpoints: this.endpoints, adoptForeign: !!this.opts.adoptForeign },
      host.loadBalancers,
      plans.values(),
      first,
    );
    // Services deleted while the proxy was away still have their (owned) load balancers: plan them empty.
    for (const key of [...this.model.services()]) if (!plans.has(key)) plans.set(key, EMPTY_PLAN(key));

    await this.syncServices(plans, { starting: first, adoptable, refreshBackends, orphans });
    await this.remotes.collect();
    await this.owned.save();
    this.counters.fullSyncs++;
    this.counters.programmedLoadBalancers = this.model.size;
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
   * Brings Services to their plans: first every remote endpoint they need (the load balancers reference their
   * IDs), then every load-balancer change as one batch (deletes first, so a port or VIP moving between
   * Services in one burst is free before it is claimed).
   */
  private async syncServices(
    entries: Iterable<[string, ServicePlan]>,
    full: { starting: boolean; adoptable: HostComputeLoadBalancer[]; refreshBackends: Set<string>; orphans: string[] } = {
      starting: false,
      adoptable: [],
      refreshBackends: new Set(),
      orphans: [],
    },
  ): Promise<void> {
    const changes = new LbChanges();
    for (const id of full.orphans) changes.deletes.push({ id, why: 'no longer desired' });
    const adopted = new Set<string>();
    for (const [key, plan] of entries) {
      this.findings.report(plan);
      await this.remotes.require(key, plan.remoteEndpoints);
      const wanted = this.wanted(plan);
      const want = new Set(wanted.map((w) => w.identity));
      for (const identity of this.model.identitiesOf(key)) {
        if (!want.has(identity)) changes.deletes.push({ id: this.model.get(identity)!.id, identity, why: 'no longer desired' });
      }
      for (const { identity, backends, doc } of wanted) {
        const cur = this.model.get(identity);
        if (!cur) {
          const shape = loadBalancerShape(doc);
          const match = full.adoptable.find((a) => !adopted.has(a.ID!) && !this.model.hasId(a.ID!) && loadBalancerShape(a) === shape);
          if (match) {
            adopted.add(match.ID!);
            this.adopt(identity, key, match);
          } else changes.creates.push({ identity, service: key, doc });
        } else if (loadBalancerShape(cur.doc) !== loadBalancerShape(doc) || backends.some((ip) => full.refreshBackends.has(ip))) {
          changes.updates.push({ identity, cur, doc });
        } else if (full.starting) {
          this.counters.loadBalancersAdopted++;
        }
      }
    }
    await this.writer.apply(changes);
  }

  private wanted(plan: ServicePlan): Wanted[] {
    const wanted: Wanted[] = [];
    for (const lb of plan.loadBalancers) {
      const doc = renderLoadBalancer(lb, (ip, local) => (local ? this.endpoints.local.get(ip) : this.endpoints.remote.get(ip)));
      if (doc.HostComputeEndpoints?.length) wanted.push({ identity: lb.identity, backends: lb.backends.map((b) => b.ip), doc });
    }
    return wanted;
  }

  private adopt(identity: string, service: string, lb: HostComputeLoadBalancer): void {
    this.model.track(identity, { id: lb.ID!, service, doc: lb });
    this.owned.addLoadBalancer(lb.ID!, identity);
    this.counters.loadBalancersAdopted++;
    this.log('info', `adopted load balancer ${lb.ID} for ${identity}`, { service, id: lb.ID });
  }
}

/** The Service an EndpointSlice belongs to (label kubernetes.io/service-name). */
export function sliceServiceKey(slice: V1EndpointSlice): string | undefined {
  const name = slice.metadata?.labels?.['kubernetes.io/service-name'];
  if (!name) return undefined;
  return `${slice.metadata?.namespace ?? 'default'}/${name}`;
}
