/**
 * The etcd subnet source (flannel's etcd subnet manager) with the npm etcd3 client, on flannel's layout:
 *
 *   <prefix>/config                    net-conf JSON (Network, SubnetLen, SubnetMin/Max, Backend)
 *   <prefix>/subnets/10.244.3.0-24     {"PublicIP":"…","PublicIPv6":null,"BackendType":"vxlan","BackendData":{…}}
 *
 * Acquisition follows flannel's LocalManager: a lease whose PublicIP is this node's is reused (so a node
 * keeps its subnet across restarts, whether flanneld or Switchyard wrote it); else the subnet of a previous
 * subnet.env if it is free; else one picked at random among the first 100 free subnets of the range. A new
 * key is created in a transaction that only succeeds if the key does not exist yet, so two nodes never
 * hold the same subnet; losers re-list and try again. Each lease value is attached to an etcd lease with a
 * TTL (flannel: 24 h) and renewed, as flannel does, by re-putting it with a fresh lease `renewMargin`
 * before expiry (flannel's --subnet-lease-renew-margin, 60 min). A key without an etcd lease is a
 * reservation: used, never expired or renewed.
 *
 * Peers come from one prefix watch on <prefix>/subnets/ started at the revision of a full list; the client
 * resumes it after disconnects, and a cancelled watch (compaction: the resume revision is gone) triggers a
 * fresh list and a new watch, so no change is missed. close() stops renewal and the watch and leaves the
 * lease in place (it expires by its TTL if the node never comes back).
 *
 * etcd's layout has no node names: peers are named by their public IP, flannel's own lease identity.
 */
import { Etcd3, type IOptions } from 'etcd3';
import { getLogger, type Logger } from '../../util/log';
import { isLeasable, parseSubnetKey, pickFreeSubnet, subnetKey, subnetRange, type SubnetRange } from './allocate';
import { DEFAULT_ETCD_PREFIX, formatNetConf, leaseValueJson, netConfDifferences, normalizeMac, parseNetConf } from './flannel';
import { EtcdPeerTable } from './etcd-peers';
import type { ClusterNetConf, LocalAnnouncement, NodeLease, SubnetSource } from './types';

export interface EtcdSourceOptions {
  /** etcd client URLs, e.g. http://127.0.0.1:2379. */
  endpoints: string[];
  /** Key prefix (flannel's --etcd-prefix), default /coreos.com/network. */
  prefix?: string;
  /**
   * The node's net-conf, if it has one: written to <prefix>/config when that key is absent (create-only),
   * and checked against it when present (etcd's copy is the cluster's truth; a disagreement is refused).
   */
  netConf?: ClusterNetConf;
  /** Lease TTL in seconds (flannel: 24 h). */
  ttlSeconds?: number;
  /** Renew this long before expiry, in seconds (flannel: 60 min). */
  renewMarginSeconds?: number;
  /** The subnet this node had before (FLANNEL_SUBNET of its subnet.env), tried before a random one. */
  previousSubnet?: string;
  /** Attempts when another node wins the race for a subnet (flannel: 10). */
  raceRetries?: number;
  /**
   * How long start() keeps retrying while etcd is unreachable (flanneld retries forever; a bounded wait
   * lets the service manager report the failure). Default 60 s.
   */
  connectTimeoutMs?: number;
  /** Passed to the etcd3 client (credentials, auth, dialTimeout…); `hosts` comes from `endpoints`. */
  client?: Omit<IOptions, 'hosts'>;
  log?: Logger;
}

interface OwnLease {
  key: string;
  subnet: string;
  /** etcd lease ID ('0' for a reservation). */
  leaseId: string;
  expiresAt?: number;
}

const trimSlash = (p: string) => p.replace(/\/+$/, '');

export class EtcdSubnetSource implements SubnetSource {
  readonly kind = 'etcd' as const;
  readonly prefix: string;
  private readonly opts: EtcdSourceOptions;
  private readonly ttl: number;
  private readonly margin: number;
  private readonly log: Logger;
  private client?: Etcd3;
  private self?: LocalAnnouncement;
  private own?: OwnLease;
  private range?: SubnetRange;
  private readonly granted = new Set<string>();
  private readonly table: EtcdPeerTable;
  private watcher?: { cancel(): Promise<void> };
  private renewTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;
  private resyncing?: Promise<void>;
  /** The cluster configuration read from <prefix>/config at start. */
  clusterNetConf?: ClusterNetConf;
  /** The last renewal/watch failure, for status output. */
  lastError?: string;

  constructor(opts: EtcdSourceOptions) {
    if (!opts.endpoints?.length) throw new Error('etcd subnet source: no endpoints (--etcd-endpoints)');
    for (const e of opts.endpoints)
      if (!/^https?:\/\/[^/\s]+\/?$/.test(e)) throw new Error(`etcd endpoint "${e}": expected http(s)://host:port`);
    this.opts = opts;
    this.prefix = trimSlash(opts.prefix ?? DEFAULT_ETCD_PREFIX);
    if (!this.prefix.startsWith('/')) throw new Error(`etcd prefix "${opts.prefix}": must start with /`);
    this.ttl = opts.ttlSeconds ?? 24 * 3600;
    this.margin = opts.renewMarginSeconds ?? 3600;
    if (!(this.ttl >= 2)) throw new Error(`etcd lease TTL ${this.ttl} s: must be at least 2 s`);
    if (!(this.margin > 0 && this.margin < this.ttl))
      throw new Error(`etcd renew margin ${this.margin} s: must be positive and below the TTL (${this.ttl} s)`);
    this.log = opts.log ?? getLogger('agent.subnet.etcd');
    this.table = new EtcdPeerTable(this.subnetsPrefix, this.log);
  }

  private get subnetsPrefix(): string {
    return `${this.prefix}/subnets/`;
  }

  private where(): string {
    return `etcd ${this.opts.endpoints.join(',')}`;
  }

  async start(self: LocalAnnouncement): Promise<NodeLease> {
    if (this.client) throw new Error('etcd subnet source: already started');
    leaseValueJson(self); // validates the announcement before anything is written
    this.self = { ...self };
    this.client = new Etcd3({ ...this.opts.client, hosts: this.opts.endpoints });
    try {
      this.clusterNetConf = await this.readConfig();
      this.range = subnetRange(this.clusterNetConf);
      this.own = await this.acquire();
      await this.resync();
      this.scheduleRenewal();
      return this.ownLease();
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  async publish(self: LocalAnnouncement): Promise<void> {
    if (!this.self || !this.own) throw new Error('etcd subnet source: publish before start');
    const value = leaseValueJson(self);
    const before = leaseValueJson(this.self);
    this.self = { ...self };
    if (value === before) return;
    await this.putOwn(value, this.own.leaseId);
  }

  peers(): NodeLease[] {
    return this.table.peers();
  }

  unusable(): { node: string; why: string }[] {
    return this.table.unusable();
  }

  onChange(listener: () => void): void {
    this.table.onChange(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.renewTimer);
    clearTimeout(this.retryTimer);
    const w = this.watcher;
    this.watcher = undefined;
    await w?.cancel().catch(() => undefined);
    this.client?.close();
  }

  // -- configuration -----------------------------------------------------------------------------------

  /** The config key's value, retried with backoff while etcd is unreachable (up to connectTimeoutMs). */
  private async fetchConfig(key: string): Promise<string | null> {
    const deadline = Date.now() + (this.opts.connectTimeoutMs ?? 60_000);
    let cause = '';
    for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
      try {
        return await this.client!.get(key).string();
      } catch (e) {
        // After a few failures etcd3's circuit breaker answers for the server; keep the real cause.
        const m = (e as Error).message;
        if (!cause || !/circuit breaker/i.test(m)) cause = m;
        const msg = `${this.where()}: cannot read ${key}: ${cause}`;
        if (this.closed || Date.now() + delay > deadline) throw new Error(msg);
        this.log.warn(msg, { retryInMs: delay });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async readConfig(): Promise<ClusterNetConf> {
    const c = this.client!;
    const key = `${this.prefix}/config`;
    let text = await this.fetchConfig(key);
    if (text === null && this.opts.netConf) {
      // Create-only, so nodes starting together agree on whichever configuration landed first.
      await c
        .if(key, 'Version', '==', 0)
        .then(c.put(key).value(formatNetConf(this.opts.netConf)))
        .commit();
      text = await c.get(key).string();
      this.log.info('cluster network configuration written to etcd', { key });
    }
    if (text === null) {
      throw new Error(
        `${this.where()}: no network configuration at ${key}; write flannel's net-conf JSON there (e.g. {"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}) or give the agent --net-conf`,
      );
    }
    const conf = parseNetConf(text, `${this.where()} ${key}`);
    if (this.opts.netConf) {
      const diff = netConfDifferences(this.opts.netConf, conf);
      if (diff.length) throw new Error(`the node's net-conf disagrees with ${key} in ${this.where()}: ${diff.join('; ')}`);
    }
    return conf;
  }

  // -- lease acquisition --------------------------------------------------------------------------------

  private async listLeases(): Promise<{ revision: string; leases: { key: string; subnet: string; leaseId: string; value: string }[] }> {
    const res = await this.client!.getAll().prefix(this.subnetsPrefix).exec();
    const leases = [];
    for (const kv of res.kvs) {
      const key = kv.key.toString();
      const subnet = parseSubnetKey(key);
      if (!subnet) continue;
      leases.push({ key, subnet, leaseId: String(kv.lease ?? '0'), value: kv.value.toString() });
    }
    return { revision: res.header.revision, leases };
  }

  private async grant(): Promise<string> {
    const r = await this.client!.leaseClient.leaseGrant({ TTL: this.ttl });
    this.granted.add(String(r.ID));
    return String(r.ID);
  }

  /** Revokes an etcd lease this instance granted (never one it found: that could take another's keys). */
  private async revokeOurs(id: string | undefined): Promise<void> {
    if (!id || !this.granted.has(id)) return;
    this.granted.delete(id);
    await this.client!.leaseClient.leaseRevoke({ ID: id }).catch((e: Error) =>
      this.log.warn('cannot revoke an unused etcd lease', { lease: id, error: e.message }),
    );
  }

  /**
   * A restart re-announces the lease before the network is reconciled, so before the VtepMAC is known again:
   * put without it, the peers would take this node for pending and withdraw its routes until `publish`.
   * The old lease's VtepMAC (same backend and VNI) is kept meanwhile, as flanneld (which creates the VXLAN
   * device before acquiring) never announces an empty one; `publish` replaces it if the device changed.
   */
  private keepVtepMac(oldValue: string): string {
    const self = this.self!;
    if (self.backendType === 'vxlan' && !self.vtepMac) {
      try {
        const old = JSON.parse(oldValue) as { BackendType?: unknown; BackendData?: { VNI?: unknown; VtepMAC?: unknown } };
        const mac = old.BackendData?.VtepMAC;
        if (old.BackendType === 'vxlan' && old.BackendData?.VNI === self.vni && typeof mac === 'string' && mac !== '') {
          const kept = { ...self, vtepMac: mac };
          leaseValueJson(kept); // throws on a malformed MAC: then nothing is kept
          this.self = kept;
        }
      } catch {
        // not JSON, or no usable MAC: nothing to keep
      }
    }
    return leaseValueJson(this.self!);
  }

  private async acquire(): Promise<OwnLease> {
    const self = this.self!;
    const range = this.range!;
    const value = leaseValueJson(self);
    const retries = this.opts.raceRetries ?? 10;
    for (let attempt = 0; attempt < retries; attempt++) {
      const { leases } = await this.listLeases();
      // flannel's findLeaseByIP: the PublicIP alone decides, whatever backend the old lease announced.
      const mine = leases.find((l) => {
        try {
          return (JSON.parse(l.value) as { PublicIP?: unknown }).PublicIP === self.publicIp;
        } catch {
          return false;
        }
      });
      if (mine && isLeasable(range, mine.subnet)) {
        const value = this.keepVtepMac(mine.value);
        const reservation = mine.leaseId === '0';
        const leaseId = reservation ? '0' : await this.grant();
        if (reservation) {
          if (mine.value !== value) await this.client!.put(mine.key).value(value).exec();
        } else {
          await this.client!.put(mine.key).value(value).lease(leaseId).exec();
        }
        this.log.info('reusing the lease of this public IP', { subnet: mine.subnet, publicIp: self.publicIp, reservation });
        return { key: mine.key, subnet: mine.subnet, leaseId, expiresAt: reservation ? undefined : Date.now() + this.ttl * 1000 };
      }
      if (mine) {
        // flannel does the same: a lease of ours that the (changed) network config no longer allows.
        this.log.warn("deleting this node's lease: outside the configured network/SubnetLen", {
          subnet: mine.subnet,
          network: range.network,
          subnetLen: range.subnetLen,
        });
        await this.client!.delete().key(mine.key).exec();
        continue;
      }
      const taken = leases.map((l) => l.subnet);
      const prev = this.opts.previousSubnet;
      const subnet = prev && isLeasable(range, prev) && !taken.includes(prev) ? prev : pickFreeSubnet(range, taken);
      const key = `${this.subnetsPrefix}${subnetKey(subnet)}`;
      const leaseId = await this.grant();
      const tx = await this.client!.if(key, 'Version', '==', 0).then(this.client!.put(key).value(value).lease(leaseId)).commit();
      if (tx.succeeded) {
        this.log.info('allocated a new subnet lease', { subnet, publicIp: self.publicIp });
        return { key, subnet, leaseId, expiresAt: Date.now() + this.ttl * 1000 };
      }
      await this.revokeOurs(leaseId);
      this.log.info('another node took the subnet first; retrying', { subnet, attempt: attempt + 1 });
    }
    throw new Error(`${this.where()}: no subnet acquired after ${retries} attempts: other nodes kept taking the chosen subnets`);
  }

  private ownLease(): NodeLease {
    const s = this.self!;
    return {
      node: s.node,
      subnet: this.own!.subnet,
      publicIp: s.publicIp,
      backendType: s.backendType,
      ...(s.backendType === 'vxlan' ? { vni: s.vni, ...(s.vtepMac ? { vtepMac: normalizeMac(s.vtepMac) } : {}) } : {}),
    };
  }

  private async putOwn(value: string, leaseId: string): Promise<void> {
    const put = this.client!.put(this.own!.key).value(value);
    await (leaseId === '0' ? put : put.lease(leaseId)).exec();
  }

  // -- renewal ------------------------------------------------------------------------------------------

  private scheduleRenewal(delayMs?: number): void {
    const own = this.own;
    if (this.closed || !own?.expiresAt) return;
    const due = delayMs ?? Math.max(0, own.expiresAt - this.margin * 1000 - Date.now());
    clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => void this.renew(), due);
  }

  /** flannel's RenewLease: the value put again under a fresh etcd lease; the old one (ours) revoked. */
  private async renew(): Promise<void> {
    if (this.closed || !this.own) return;
    const old = this.own.leaseId;
    try {
      const id = await this.grant();
      await this.putOwn(leaseValueJson(this.self!), id);
      this.own = { ...this.own, leaseId: id, expiresAt: Date.now() + this.ttl * 1000 };
      await this.revokeOurs(old);
      this.lastError = undefined;
      this.log.debug('subnet lease renewed', { subnet: this.own.subnet, ttlSeconds: this.ttl });
      this.scheduleRenewal();
    } catch (e) {
      if (this.closed) return;
      this.lastError = `cannot renew the lease of ${this.own.subnet}: ${(e as Error).message}`;
      const retry = Math.min(60_000, Math.max(1000, ((this.ttl - this.margin) * 1000) / 2));
      this.log.error(this.lastError, { retryInMs: retry });
      this.scheduleRenewal(retry);
    }
  }

  /** Our key vanished (deleted by hand, or expired while etcd was unreachable): take the same subnet back. */
  private async reclaim(): Promise<void> {
    if (this.closed || !this.own) return;
    const { key, subnet } = this.own;
    try {
      const id = await this.grant();
      const tx = await this.client!.if(key, 'Version', '==', 0)
        .then(this.client!.put(key).value(leaseValueJson(this.self!)).lease(id))
        .commit();
      if (!tx.succeeded) {
        await this.revokeOurs(id);
        this.lastError = `subnet ${subnet} was taken by another node after this node's lease disappeared; restart the agent to acquire a new one`;
        this.log.error(this.lastError);
        return;
      }
      this.own = { ...this.own, leaseId: id, expiresAt: Date.now() + this.ttl * 1000 };
      this.log.warn("this node's lease had disappeared; re-created it", { subnet });
      this.scheduleRenewal();
    } catch (e) {
      this.lastError = `cannot re-create the lease of ${subnet}: ${(e as Error).message}`;
      this.log.error(this.lastError);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => void this.reclaim(), 1000);
    }
  }

  // -- peers --------------------------------------------------------------------------------------------

  /** Full list, then a watch from the list's revision: the only way peers are (re)learned. */
  private resync(): Promise<void> {
    this.resyncing ??= this.doResync().finally(() => {
      this.resyncing = undefined;
    });
    return this.resyncing;
  }

  private async doResync(): Promise<void> {
    const old = this.watcher;
    this.watcher = undefined;
    await old?.cancel().catch(() => undefined);
    const { revision, leases } = await this.listLeases();
    const changed = this.table.replaceAll(leases.filter((l) => l.key !== this.own?.key));
    if (this.own && !leases.some((l) => l.key === this.own!.key)) void this.reclaim();
    if (this.closed) return;
    const w = await this.client!.watch()
      .prefix(this.subnetsPrefix)
      .startRevision(String(BigInt(revision) + 1n))
      .create();
    if (this.closed) {
      await w.cancel();
      return;
    }
    this.watcher = w;
    w.on('put', (kv) => this.onPut(kv.key.toString(), kv.value.toString(), String(kv.lease ?? '0')));
    w.on('delete', (kv) => this.onDelete(kv.key.toString()));
    w.on('disconnected', (err) => this.log.warn('etcd watch disconnected; the client resumes it', { error: err.message }));
    w.on('error', (err) => this.onWatchError(w, err));
    if (changed) this.table.emit();
  }

  private onPut(key: string, value: string, leaseId: string): void {
    if (key === this.own?.key) {
      if (leaseId !== this.own.leaseId && !this.granted.has(leaseId))
        this.log.warn("this node's lease key was written by someone else", { key, value });
      return;
    }
    if (this.table.put(key, value)) this.table.emit();
  }

  private onDelete(key: string): void {
    if (key === this.own?.key) {
      if (!this.closed) void this.reclaim();
      return;
    }
    if (this.table.remove(key)) this.table.emit();
  }

  private onWatchError(w: unknown, err: Error): void {
    if (this.closed || w !== this.watcher) return;
    // Typically a cancel because the resume revision was compacted while the client was disconnected.
    this.lastError = `etcd watch of ${this.subnetsPrefix} failed: ${err.message}`;
    this.log.warn(`${this.lastError}; re-listing`);
    this.retryResync(500);
  }

  private retryResync(delayMs: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.closed) return;
      this.resync().catch((e: Error) => {
        this.lastError = `cannot re-list ${this.subnetsPrefix}: ${e.message}`;
        this.log.warn(this.lastError);
        this.retryResync(Math.min(delayMs * 2, 30_000));
      });
    }, delayMs);
  }
}
