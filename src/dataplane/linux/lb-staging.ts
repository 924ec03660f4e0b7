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
import { backendsOf, frontendOf, realizeLoadBalancer, type RealizedLb } from './lb-nft';
import { key, type LinuxState } from './state';
import { toHnsError } from './errors';

export class LbBatchStaging {
  /** LB key → its document before the batch (undefined: it did not exist), for rollback. */
  private readonly before = new Map<string, HostComputeLoadBalancer | undefined>();
  /** LB key → its new realization (undefined: removed from the kernel). */
  private readonly next = new Map<string, RealizedLb | undefined>();
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
      if (!mustExist && existing && this.realization(k)) throw HnsError.of('ERROR_ALREADY_EXISTS', { call, subject });
      for (const epId of doc.HostComputeEndpoints ?? []) this.c.endpoint(this.s, epId, call);
      const stored: HostComputeLoadBalancer = { ...clone(doc), ID: id, SchemaVersion: { ...SCHEMA_V2 } };
      const realized = realizeLoadBalancer(id, stored, backendsOf(this.s, stored));
      this.claim(k, id, realized, call);
      this.remember(k);
      this.s.loadBalancers[k] = stored;
      this.next.set(k, realized);
      return { ok: true, loadBalancer: clone(stored) };
    } catch (e) {
      return { ok: false, error: toHnsError(e, { call, subject }) };
    }
  }

  changed(): boolean {
    return this.next.size > 0;
  }

  realized(): Map<string, RealizedLb | undefined> {
    return this.next;
  }

  rollback(): void {
    for (const [k, doc] of this.before) {
      if (doc) this.s.loadBalancers[k] = doc;
      else delete this.s.loadBalancers[k];
    }
  }

  private remember(k: string): void {
    if (!this.before.has(k)) this.before.set(k, this.s.loadBalancers[k]);
  }

  /** What the kernel has (or will have, after this batch) for the LB. */
  private realization(k: string): RealizedLb | undefined {
    return this.next.has(k) ? this.next.get(k) : this.s.lbNft?.[k];
  }

  private ownerIndex(): Map<string, string> {
    if (!this.owners) {
      this.owners = new Map();
      for (const [k, r] of Object.entries(this.s.lbNft ?? {})) {
        if (this.next.has(k)) continue;
        for (const e of r.elements) this.owners.set(frontendOf(e), k);
      }
      for (const [k, r] of this.next) for (const e of r?.elements ?? []) this.owners.set(frontendOf(e), k);
    }
    return this.owners;
  }

  private release(k: string): void {
    const owners = this.owners;
    if (!owners) return;
    for (const e of this.realization(k)?.elements ?? []) if (owners.get(frontendOf(e)) === k) owners.delete(frontendOf(e));
  }

  /** HNS refuses a frontend (VIP . protocol . port, or a node port) that another LB serves: HCN_E_PORT_ALREADY_EXISTS. */
  private claim(k: string, id: string, realized: RealizedLb, call: string): void {
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
