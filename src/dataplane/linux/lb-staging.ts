/**
 * One load-balancer batch staged on the linux state before anything reaches the kernel: each delete, create
 * or modify is checked as HNS would (unknown ID, existing ID, missing endpoint, an unrealizable document, a
 * frontend another LB holds) and either refused with its own error, changing nothing, or applied to the state
 * with its new realization. What is accepted goes to the kernel as one transaction (syncLoadBalancerTable);
 * rollback() undoes the state when that fails.
 */
import { HnsError, SCHEMA_V2, type HostComputeLoadBalancer } from '../../hns';
import type { LoadBalancerOutcome } from '../lb-batch';
import type { LinuxContext } from './context';
import { clone } from './clone';
import { newId } from './ids';
import { checkLoadBalancerRealizable } from './realizable';
import { backendsOf, elementsAt, frontendOf, realizeLoadBalancer, realizedAt, type LbChange, type RealizedLb } from './lb-nft';
import { key, type LinuxState } from './state';
import { toHnsError } from './errors';

export class LbBatchStaging {
  /** LB key → its document before the batch (undefined: it did not exist), for rollback. */
  private readonly before = new Map<string, HostComputeLoadBalancer | undefined>();
  /** LB key → the realization the kernel has before the batch (computed while its old document is in place). */
  private readonly previous = new Map<string, RealizedLb | undefined>();
  /** LB key → its new realization and backends (undefined: removed from the kernel). */
  private readonly next = new Map<string, LbChange>();
  /** Frontend ("map|key") → the LB key realizing it; built on first need (a delete-only batch never needs it). */
  private owners?: Map<string, string>;

  constructor(
    private readonly c: LinuxContext,
    private readonly s: LinuxState,
  ) {}

  delete(id: string): LoadBalancerOutcome {
    const call = 'HcnDeleteLoadBalancer';
    const k = key(id);
    const existing = this.s.loadBalancers[k];
    if (!existing) return { ok: false, error: HnsError.of('ERROR_NOT_FOUND', { call, subject: `load balancer ${id}` }) };
    this.remember(k);
    this.release(k);
    delete this.s.loadBalancers[k];
    this.next.set(k, undefined);
    return { ok: true };
  }

  /** A create (mustExist false) or a modify (true) of the whole document. */
  put(doc: HostComputeLoadBalancer, mustExist: boolean): LoadBalancerOutcome {
    const call = mustExist ? 'HcnModifyLoadBalancer' : 'HcnCreateLoadBalancer';
    const id = doc.ID ?? newId();
    const subject = `load balancer ${id}`;
    try {
      checkLoadBalancerRealizable(doc, call, subject);
      const k = key(id);
      const existing = this.s.loadBalancers[k];
      if (mustExist && !existing) throw HnsError.of('ERROR_NOT_FOUND', { call, subject });
      // A record without realization is an LB whose rules vanished: creating it again is the repair.
      if (!mustExist && existing && this.realized(k)) throw HnsError.of('ERROR_ALREADY_EXISTS', { call, subject });
      for (const epId of doc.HostComputeEndpoints ?? []) this.c.endpoint(this.s, epId, call);
      const stored: HostComputeLoadBalancer = { ...clone(doc), ID: id, SchemaVersion: { ...SCHEMA_V2 } };
      const backends = backendsOf(this.s, stored);
      const realized = realizeLoadBalancer(id, stored, backends);
      this.claim(k, id, realized, call);
      this.remember(k);
      this.s.loadBalancers[k] = stored;
      this.next.set(k, { realized, backends });
      return { ok: true, loadBalancer: clone(stored) };
    } catch (e) {
      return { ok: false, error: toHnsError(e, { call, subject }) };
    }
  }

  changed(): boolean {
    return this.next.size > 0;
  }

  changes(): Map<string, LbChange> {
    return this.next;
  }

  replaced(): Map<string, RealizedLb | undefined> {
    return this.previous;
  }

  rollback(): void {
    for (const [k, doc] of this.before) {
      if (doc) this.s.loadBalancers[k] = doc;
      else delete this.s.loadBalancers[k];
    }
  }

  private remember(k: string): void {
    if (this.before.has(k)) return;
    this.before.set(k, this.s.loadBalancers[k]);
    this.previous.set(k, realizedAt(this.s, k));
  }

  /** Whether the kernel has (or will have, after this batch) the LB. */
  private realized(k: string): boolean {
    return this.next.has(k) ? this.next.get(k) !== undefined : this.s.lbNft?.[k] !== undefined;
  }

  /** The map elements the kernel has (or will have, after this batch) for the LB. */
  private elements(k: string): string[] {
    return this.next.has(k) ? (this.next.get(k)?.realized.elements ?? []) : elementsAt(this.s, k);
  }

  private ownerIndex(): Map<string, string> {
    if (!this.owners) {
      this.owners = new Map();
      for (const k of Object.keys(this.s.lbNft ?? {})) {
        if (this.next.has(k)) continue;
        for (const e of elementsAt(this.s, k)) this.owners.set(frontendOf(e), k);
      }
      for (const [k, c] of this.next) for (const e of c?.realized.elements ?? []) this.owners.set(frontendOf(e), k);
    }
    return this.owners;
  }

  private release(k: string): void {
    const owners = this.owners;
    if (!owners) return;
    for (const e of this.elements(k)) if (owners.get(frontendOf(e)) === k) owners.delete(frontendOf(e));
  }

  /** HNS refuses a frontend (VIP . protocol . port, or a node port) that another LB serves: HCN_E_PORT_ALREADY_EXISTS. */
  private claim(k: string, id: string, realized: RealizedLb, call: string): void {
    // Most modifies (an endpoint change) keep their frontends: nothing new to claim, no index to build.
    if (!this.owners) {
      const mine = new Set(this.elements(k).map(frontendOf));
      if (realized.elements.every((e) => mine.has(frontendOf(e)))) return;
    }
    const owners = this.ownerIndex();
    for (const e of realized.elements) {
      const fe = frontendOf(e);
      const other = owners.get(fe);
      if (other && other !== k) {
        const [map, fk] = fe.split('|');
        throw HnsError.of('HCN_E_PORT_ALREADY_EXISTS', {
          call,
          subject: `load balancer ${id}: ${map === 'service-ips' ? 'frontend' : 'node port'} ${fk} is already used by load balancer ${this.s.loadBalancers[other]?.ID ?? other}`,
        });
      }
    }
    this.release(k);
    for (const e of realized.elements) owners.set(frontendOf(e), k);
  }
}
