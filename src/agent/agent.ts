/**
 * The node agent's core, the same on every data plane and under every host (foreground CLI, systemd, the
 * Windows service host): boot (lease → reservations → network, host and source-VIP endpoints → CNI config →
 * ready), then level-triggered reconciliation on every subnet-source change (coalesced), periodically, and on
 * demand; one graceful stop path. It never deletes the network or pods' endpoints: a restart adopts what is
 * there, so pods keep their connectivity.
 */
import * as path from 'node:path';
import type { HostNetworkService } from '../dataplane/types';
import type { HostComputeNetwork } from '../hns/network';
import { findPolicies, type NetworkPolicy } from '../hns/policy';
import { getCI } from '../hns/json';
import { applyPlan, describeStep, plan, policyIdentity, readLive, type Step } from '../reconcile';
import { describeConflict } from './conflicts';
import type { Logger } from '../util/log';
import type { AgentConfig } from './config';
import { buildConflist, conflistPresent, defaultSourceBinDir, installBinaries, writeConflist } from './cniconf';
import { cniSummary, type AgentMetrics, type HealthSource } from './metrics';
import type { AgentStatus, ReconcileReport } from './report';
import {
  desiredState,
  hostEndpointName,
  networkName,
  nthHost,
  placeholderNetwork,
  PLACEHOLDER_NETWORK,
  SOURCE_VIP_ENDPOINT,
} from './network/desired';
import { collectStale, HOST_ENDPOINT_ID, openStore, reserveAny, reserveExact, SOURCE_VIP_ID } from './network/reservations';
import { CreatedLedger, createdRecordPath } from './network/created';
import { hostRouteKey, reconcileHostRoutes, routeInterface } from './network/host-routes';
import { decidePeers, type PeerDecision } from './peers';
import type { PlatformTraits } from './platform';
import type { LocalAnnouncement, NodeLease, SubnetSource } from './subnet/types';
import { toKernelMac } from '../net/mac';

export interface AgentDeps {
  config: AgentConfig;
  svc: HostNetworkService;
  source: SubnetSource;
  log: Logger;
  metrics: AgentMetrics;
  traits: PlatformTraits;
  /** This node's address (PublicIP / ProviderAddress). */
  publicIp: string;
  /** Periodic resync; tests and benchmarks turn it off and call reconcileNow(). */
  periodic?: boolean;
  /** Delay that coalesces a burst of subnet-source changes into one pass (ms). */
  coalesceMs?: number;
}

export type { AgentStatus, ReconcileReport } from './report';

const subjectOf = (key: string, p?: NetworkPolicy) => (p ? `${key}|${policyIdentity(p)}` : key);

export class Agent implements HealthSource {
  private readonly c: AgentConfig;
  private lease?: NodeLease;
  private vtepMac?: string;
  private sourceVip?: string;
  private hostIp?: string;
  private networkId?: string;
  private networkOk = false;
  private hostEndpointId?: string;
  private sourceVipId?: string;
  private cniWritten = false;
  private binariesInstalled = false;
  private gcDone = false;
  private problems: string[] = [];
  private decisions: PeerDecision[] = [];
  private refusedBefore = new Map<string, string>();
  private programmed = new Set<string>();
  private last?: ReconcileReport;
  private passes = 0;
  private loop?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private coalesce?: NodeJS.Timeout;
  private stopped = false;
  private started = false;
  private lastLoopAt = Date.now();
  private readonly listeners: ((r: ReconcileReport) => void)[] = [];

  /** What this agent created, for `agent cleanup` (never what it adopted). */
  readonly ledger: CreatedLedger;

  constructor(private readonly d: AgentDeps) {
    this.c = d.config;
    this.ledger = new CreatedLedger(createdRecordPath(this.c.cni.ipamDataDir, this.networkName));
  }

  /** Records a file this agent wrote (e.g. subnet.env), so cleanup removes it. */
  noteCreatedFile(file: string): void {
    this.ledger.addFile(file);
    this.flushLedger();
  }

  private flushLedger(): void {
    const err = this.ledger.flush();
    if (err) this.d.log.warn(err);
  }

  get networkName(): string {
    return networkName(this.c.netConf);
  }

  private announcement(): LocalAnnouncement {
    const b = this.c.netConf.backend;
    return {
      node: this.c.node,
      publicIp: this.d.publicIp,
      backendType: b.type,
      ...(b.type === 'vxlan' ? { vni: b.vni } : {}),
      ...(this.vtepMac ? { vtepMac: this.vtepMac } : {}),
    };
  }

  /** Boot. Resolves after the first reconcile pass (ready or not: readiness says which, and passes go on). */
  async start(): Promise<ReconcileReport> {
    const { log, source } = this.d;
    this.lease = await source.start(this.announcement());
    log.info('lease acquired', { node: this.c.node, subnet: this.lease.subnet, source: source.kind, network: this.networkName });
    source.onChange(() => this.trigger('subnet source change', true));
    if (this.d.traits.placeholderNetwork) await this.ensurePlaceholder();
    this.started = true;
    const report = await this.reconcileNow('start');
    if (this.d.periodic !== false) {
      // Kept referenced: the periodic timer is what keeps a daemon without a metrics server alive.
      this.timer = setInterval(() => this.trigger('periodic'), this.c.resyncSeconds * 1000);
    }
    return report;
  }

  /** The one stop path (SIGTERM, SIGINT, the Windows service stop): no new passes, the current one finishes. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.coalesce) clearTimeout(this.coalesce);
    await this.loop?.catch(() => undefined);
    await this.d.source.close();
    this.d.log.info('agent stopped', { node: this.c.node });
  }

  /** Called after every pass (tests and benchmarks wait on it). */
  onReconcile(listener: (r: ReconcileReport) => void): void {
    this.listeners.push(listener);
  }

  private trigger(reason: string, coalesced = false): void {
    if (this.stopped || !this.started) return;
    if (coalesced) {
      if (this.coalesce) return;
      this.coalesce = setTimeout(() => {
        this.coalesce = undefined;
        void this.reconcileNow(reason).catch(() => undefined);
      }, this.d.coalesceMs ?? 20);
      return;
    }
    void this.reconcileNow(reason).catch(() => undefined);
  }

  /**
   * Runs a pass now, or right after the one in progress (requests arriving meanwhile share that one pass).
   * Resolves with the report of a pass that started after this call.
   */
  reconcileNow(reason: string): Promise<ReconcileReport> {
    return new Promise((resolve) => {
      if (this.stopped && this.last) return resolve(this.last);
      this.waiters.push(resolve);
      this.nextReason = reason;
      if (!this.looping) {
        this.looping = true;
        this.loop = this.runLoop();
      }
    });
  }

  private waiters: ((r: ReconcileReport) => void)[] = [];
  private looping = false;
  private nextReason = '';

  private async runLoop(): Promise<void> {
    try {
      // The emptiness check and `looping = false` run in one turn: a request is either seen here or starts
      // a new loop, never lost in between.
      while (this.waiters.length > 0) {
        const waiting = this.waiters;
        this.waiters = [];
        const report = await this.pass(this.nextReason);
        for (const w of waiting) w(report);
        for (const l of this.listeners) l(report);
      }
    } finally {
      this.looping = false;
    }
  }

  private async ensurePlaceholder(): Promise<void> {
    const { svc, log } = this.d;
    const existing = (await svc.listNetworks()).find((n) => n.Name === PLACEHOLDER_NETWORK);
    if (existing) {
      this.ledger.adoptedNetwork('placeholder', PLACEHOLDER_NETWORK, existing.ID!);
      return;
    }
    const created = await svc.createNetwork(placeholderNetwork(this.c.netConf, this.c.iface));
    this.ledger.setNetwork('placeholder', { name: PLACEHOLDER_NETWORK, id: created.ID! });
    this.flushLedger();
    log.info('created the placeholder network (the vSwitch exists from now on)', { network: PLACEHOLDER_NETWORK, id: created.ID });
  }

  private async pass(reason: string): Promise<ReconcileReport> {
    const t0 = Date.now();
    this.lastLoopAt = t0;
    const { svc, log, metrics, traits } = this.d;
    const report: ReconcileReport = { reason, at: new Date(t0).toISOString(), durationMs: 0, steps: [], repairs: [] };
    const problems: string[] = [];
    const lease = this.lease!;
    const net = this.c.netConf;
    const name = this.networkName;
    try {
      // Reservations first: the store is shared with the CNI, so .2 and the source VIP are never a pod's.
      const store = openStore(this.c.cni.ipamDataDir, name);
      // .2 is reserved even where the host endpoint is not realized yet, so no pod holds it when it is.
      if (!this.hostIp) {
        const ip = nthHost(lease.subnet, 2);
        try {
          await reserveExact(store, HOST_ENDPOINT_ID, ip);
          this.hostIp = ip;
        } catch (e) {
          problems.push((e as Error).message);
        }
      }
      if (net.backend.type === 'vxlan' && !this.sourceVip) this.sourceVip = await reserveAny(store, SOURCE_VIP_ID, lease.subnet);

      if (!traits.hostEndpoint && this.c.cni.type === 'win-bridge') {
        problems.push(
          `cni.type win-bridge hands pods the gateway ${nthHost(lease.subnet, 2)} (the host endpoint), which this data plane does not realize yet: pods would reach only their own subnet; use cni.type switchyard`,
        );
      }
      const live = await readLive(svc, { loadBalancers: false });
      this.decisions = decidePeers(net, lease, this.d.source.peers());
      this.notePeers();
      const desired = desiredState({
        net,
        lease,
        iface: this.c.iface,
        providerAddress: traits.sendsProviderAddress ? this.d.publicIp : undefined,
        hostEndpointIp: traits.hostEndpoint ? this.hostIp : undefined,
        sourceVip: this.sourceVip,
        // host-gw peers become host routes where the data plane has a route table (flannel's Windows way).
        peerPolicies: this.peerRoutes() ? [] : this.decisions.filter((x) => x.state === 'programmed').map((x) => x.policy!),
      });
      const p = plan(desired, live);
      const netKey = `Network/${name}`;
      const netConflict = p.conflicts.find((x) => x.key === netKey);
      for (const cf of p.conflicts) problems.push(describeConflict(cf, live.networks, lease.subnet, net.backend.type));
      problems.push(...p.problems);
      if (netConflict) {
        this.networkOk = false;
      } else {
        const applied = await applyPlan(svc, p, { onStep: (s) => this.noteStep(s, report), label: 'reconcile' });
        const netDoc = applied.find((a) => a.key === netKey)?.document as HostComputeNetwork | undefined;
        this.networkId = netDoc?.ID;
        this.networkOk = !!netDoc;
        this.ledger.recordApplied(
          applied,
          this.networkName,
          [hostEndpointName(net), SOURCE_VIP_ENDPOINT],
          desired.networks![0].doc.Policies ?? [],
        );
        this.flushLedger();
        const epAfter = (n: string) => applied.find((a) => a.key === `Endpoint/${n}`)?.document?.ID;
        this.hostEndpointId = this.hostIp && traits.hostEndpoint ? epAfter(hostEndpointName(net)) : undefined;
        this.sourceVipId = this.sourceVip ? epAfter(SOURCE_VIP_ENDPOINT) : undefined;
        this.programmed = new Set(
          [
            ...desired.networks!.flatMap((n) => [
              subjectOf(`Network/${n.doc.Name}`),
              ...(n.doc.Policies ?? []).map((pol) => subjectOf(`Network/${n.doc.Name}`, pol)),
            ]),
            ...desired.endpoints!.map((e) => subjectOf(`Endpoint/${e.doc.Name}`)),
          ].filter((s) => !p.conflicts.some((cf) => s.startsWith(cf.key))),
        );
        if (netDoc && this.peerRoutes()) problems.push(...(await this.routePeers(report)));
        this.problems = problems;
        if (netDoc) await this.afterNetwork(netDoc, live, report);
      }
      this.problems = problems;
      if (problems.length) log.warn('reconcile found problems', { problems });
      metrics.reconciles.inc({ result: 'ok' });
    } catch (e) {
      report.error = (e as Error).message;
      this.problems = [...problems, report.error];
      metrics.reconciles.inc({ result: 'error' });
      metrics.reconcileErrors.inc();
      log.error('reconcile failed', { reason, error: report.error });
    }
    report.durationMs = Date.now() - t0;
    metrics.reconcileDuration.observe(report.durationMs / 1000);
    this.passes++;
    this.last = report;
    return report;
  }

  private peerRoutes(): boolean {
    return this.d.traits.hostRoutes && this.c.netConf.backend.type === 'host-gw';
  }

  private routedBefore = new Set<string>();

  private async routePeers(report: ReconcileReport): Promise<string[]> {
    const via = routeInterface(this.c.iface);
    const desired = this.decisions
      .filter((x) => x.state === 'programmed')
      .map((x) => ({ destinationPrefix: x.lease.subnet, nextHop: x.lease.publicIp, ...(via ? { interfaceAlias: via } : {}) }));
    const r = await reconcileHostRoutes(this.d.svc.hostRoutes!, desired, this.ledger.record.hostRoutes, this.routedBefore);
    for (const step of r.steps) {
      report.steps.push(step.line);
      if (step.repair) {
        report.repairs.push(step.line);
        this.d.metrics.driftRepairs.inc({ kind: 'HostRoute' });
        this.d.log.warn('repaired drift', { step: step.line });
      } else this.d.log.info(report.reason === 'start' ? 'boot' : 'programmed', { step: step.line });
    }
    this.routedBefore = new Set(desired.map(hostRouteKey));
    this.ledger.setHostRoutes(desired);
    this.flushLedger();
    return r.problems;
  }

  private noteStep(s: Step, report: ReconcileReport): void {
    const line = describeStep(s);
    report.steps.push(line);
    const subjects =
      s.kind === 'Network' && s.op === 'modify'
        ? s.change.list.map((p) => ({ subject: subjectOf(s.key, p), kind: String(p.Type) }))
        : [{ subject: subjectOf(s.key), kind: s.kind }];
    const adds = s.op === 'create' || (s.kind === 'Network' && s.op === 'modify' && s.change.policies === 'Add') || s.kind === 'Namespace';
    const drift = subjects.filter((x) => this.programmed.has(x.subject) && adds);
    if (drift.length > 0 || (s.op === 'delete' && this.programmed.has(subjectOf(s.key)))) {
      report.repairs.push(line);
      for (const x of drift.length ? drift : subjects) this.d.metrics.driftRepairs.inc({ kind: x.kind });
      this.d.log.warn('repaired drift', { step: line });
    } else {
      this.d.log.info(report.reason === 'start' ? 'boot' : 'programmed', { step: line });
    }
  }

  private notePeers(): void {
    const { metrics, log } = this.d;
    const count = { programmed: 0, pending: 0, refused: 0 };
    const seen = new Set<string>();
    for (const x of this.decisions) {
      count[x.state]++;
      seen.add(x.lease.node);
      if (x.state === 'refused' && this.refusedBefore.get(x.lease.node) !== x.reason) {
        metrics.peersRefused.inc({ node: x.lease.node });
        log.error('peer refused: not programmed', { peer: x.lease.node, subnet: x.lease.subnet, reason: x.reason });
        this.refusedBefore.set(x.lease.node, x.reason!);
      }
      if (x.state !== 'refused') this.refusedBefore.delete(x.lease.node);
    }
    for (const n of [...this.refusedBefore.keys()]) if (!seen.has(n)) this.refusedBefore.delete(n);
    for (const [state, n] of Object.entries(count)) metrics.peers.set({ state }, n);
  }

  /** Once the network exists: publish the VtepMAC, collect stale IPAM (boot), write the CNI config. */
  private async afterNetwork(
    netDoc: HostComputeNetwork,
    live: { endpoints: { HostComputeNetwork?: string }[] },
    report: ReconcileReport,
  ): Promise<void> {
    const { log, svc, traits } = this.d;
    const net = this.c.netConf;
    if (net.backend.type === 'vxlan') {
      const dr = findPolicies(netDoc.Policies, 'DrMacAddress')[0];
      let mac = dr ? getCI<string>(dr.Settings, 'Address') : undefined;
      if (!mac && !dr)
        mac = (findPolicies((await svc.getNetwork(netDoc.ID!)).Policies, 'DrMacAddress')[0]?.Settings as { Address?: string } | undefined)
          ?.Address;
      const colon = mac === undefined ? undefined : toKernelMac(mac);
      if (!colon)
        this.problems.push(
          `network ${this.networkName} reports no DrMacAddress policy: no VtepMAC to publish, so vxlan peers cannot reach this node's pods yet`,
        );
      if (colon && colon !== this.vtepMac) {
        this.vtepMac = colon;
        await this.d.source.publish(this.announcement());
        log.info('published VtepMAC', { vtepMac: colon });
      }
    }
    if (!this.gcDone) {
      this.gcDone = true;
      const keep = [this.hostIp, this.sourceVip].filter((x): x is string => !!x);
      const changed = await collectStale(svc, openStore(this.c.cni.ipamDataDir, this.networkName), {
        network: this.networkName,
        networkId: netDoc.ID!,
        subnet: this.lease!.subnet,
        keep,
      });
      if (changed.length) log.info('boot IPAM collection (the CNI invariant)', { network: this.networkName, changes: changed });
    }
    const hostOk = !traits.hostEndpoint || !!this.hostEndpointId;
    if (!hostOk) return;
    const { cni } = this.c;
    if (cni.confDir) {
      const conf = buildConflist({ cni, net, lease: this.lease!, networkName: this.networkName, nodeIp: this.d.publicIp });
      if (!this.binariesInstalled && cni.binDir) {
        const copied = installBinaries(cni.sourceBinDir ?? defaultSourceBinDir(), cni.binDir);
        for (const f of copied) this.ledger.addFile(path.join(cni.binDir, f));
        if (copied.length) log.info('installed CNI entrypoints', { dir: cni.binDir, files: copied });
        this.binariesInstalled = true;
      }
      const wrote = writeConflist(cni.confDir, cni.confName, conf);
      if (wrote) this.ledger.addFile(path.join(cni.confDir, cni.confName));
      this.flushLedger();
      if (wrote) {
        const line = `write CNI config ${cni.confName}: ${this.cniWritten ? 'missing or changed' : 'network ready'}`;
        report.steps.push(line);
        if (this.cniWritten) {
          report.repairs.push(line);
          this.d.metrics.driftRepairs.inc({ kind: 'CniConfig' });
          log.warn('repaired drift', { step: line });
        } else {
          log.info('wrote CNI config', { file: cni.confName, dir: cni.confDir, type: cni.type });
        }
      }
      this.cniWritten = conflistPresent(cni.confDir, cni.confName);
    } else {
      this.cniWritten = true;
    }
  }

  healthy(): boolean {
    // Alive while the loop keeps turning: a pass stuck for many periods means a wedged HNS call.
    return !this.stopped && (!this.looping || Date.now() - this.lastLoopAt < Math.max(60_000, this.c.resyncSeconds * 6000));
  }

  readiness(): { ready: boolean; missing: string[] } {
    const missing: string[] = [];
    if (!this.networkOk) missing.push(`network ${this.networkName}`);
    if (this.d.traits.hostEndpoint && !this.hostEndpointId) missing.push(`host endpoint ${hostEndpointName(this.c.netConf)}`);
    if (!this.cniWritten) missing.push('CNI config');
    return { ready: missing.length === 0, missing };
  }

  status(): AgentStatus {
    const net = this.c.netConf;
    const r = this.readiness();
    return {
      node: this.c.node,
      subnetSource: this.d.source.kind,
      ...(this.lease ? { subnet: this.lease.subnet } : {}),
      backend: { type: net.backend.type, ...(net.backend.type === 'vxlan' ? { vni: net.backend.vni, port: net.backend.port } : {}) },
      network: {
        name: this.networkName,
        ...(this.networkId ? { id: this.networkId } : {}),
        type: net.backend.type === 'vxlan' ? 'Overlay' : 'L2Bridge',
        ready: this.networkOk,
      },
      ...(this.hostIp && this.d.traits.hostEndpoint
        ? {
            hostEndpoint: {
              name: hostEndpointName(net),
              ip: this.hostIp,
              ...(this.hostEndpointId ? { id: this.hostEndpointId } : {}),
              ready: !!this.hostEndpointId,
            },
          }
        : {}),
      ...(this.sourceVip
        ? { sourceVip: { ip: this.sourceVip, endpoint: SOURCE_VIP_ENDPOINT, ...(this.sourceVipId ? { id: this.sourceVipId } : {}) } }
        : {}),
      ...(this.vtepMac ? { vtepMac: this.vtepMac } : {}),
      cniConfig: { file: this.c.cni.confDir ? `${this.c.cni.confDir}/${this.c.cni.confName}` : '', written: this.cniWritten },
      peers: this.decisions.map((x) => ({
        node: x.lease.node,
        subnet: x.lease.subnet,
        publicIp: x.lease.publicIp,
        state: x.state,
        ...(x.reason ? { reason: x.reason } : {}),
      })),
      ...(this.last ? { lastReconcile: this.last } : {}),
      reconciles: this.passes,
      problems: [
        ...this.problems,
        ...this.decisions.filter((x) => x.state === 'refused').map((x) => `peer ${x.lease.node} refused: ${x.reason}`),
      ],
      ready: r.ready,
      missing: r.missing,
    };
  }

  /** The local API's `status` handler (ApiHandlers.status), for the coordinator to wire in one line. */
  readonly statusHandler = async (): Promise<AgentStatus> => {
    const repairs = (await this.d.metrics.driftRepairs.get()).values.reduce((n, v) => n + v.value, 0);
    return { ...this.status(), driftRepairs: repairs, cni: await cniSummary(this.d.metrics) };
  };
}
