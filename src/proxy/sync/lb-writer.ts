/**
 * Writes load-balancer changes to the host network service as one batch (applyLoadBalancers: deletes first,
 * so a frontend moving between Services is free before it is claimed, then creates and modifies) and brings
 * the model, the ownership record and the counters to what each outcome says. A modify falls back to delete +
 * create where HNS has no ModifyLoadbalancer (older hosts, or after HNS answered "unsupported", as kube-proxy
 * does); a modify of an LB that vanished becomes a create.
 */
import { isHnsError, type HostComputeLoadBalancer } from '../../hns';
import type { LoadBalancerBatchResult } from '../../dataplane/lb-batch';
import { reportFailure, type SyncContext } from './context';
import type { ProgrammedModel, Programmed } from './model';
import type { OwnedObjects } from './owned';
import { ownedIdFor } from './ownership';

export interface LbDelete {
  id: string;
  /** The identity the model tracks it under (absent for an orphan). */
  identity?: string;
  why: string;
}

export interface LbCreate {
  identity: string;
  service: string;
  doc: HostComputeLoadBalancer;
}

export interface LbUpdate {
  identity: string;
  cur: Programmed;
  doc: HostComputeLoadBalancer;
}

export class LbChanges {
  readonly deletes: LbDelete[] = [];
  readonly creates: LbCreate[] = [];
  readonly updates: LbUpdate[] = [];

  get empty(): boolean {
    return !this.deletes.length && !this.creates.length && !this.updates.length;
  }
}

export class LoadBalancerWriter {
  /** HNS ≥ 15.4 (ModifyLoadbalancer feature) until HNS says otherwise. */
  modifySupported = false;

  constructor(
    private readonly ctx: SyncContext,
    private readonly model: ProgrammedModel,
    private readonly owned: OwnedObjects,
  ) {}

  async apply(changes: LbChanges): Promise<void> {
    if (changes.empty) return;
    const deletes = [...changes.deletes];
    const creates = [...changes.creates];
    const modifies: LbUpdate[] = [];
    for (const u of changes.updates) {
      if (this.modifySupported) modifies.push(u);
      else {
        deletes.push({ id: u.cur.id, identity: u.identity, why: 'replaced' });
        creates.push({ identity: u.identity, service: u.cur.service, doc: u.doc });
      }
    }
    for (const d of deletes) {
      if (!this.owned.ownsLoadBalancer(d.id))
        throw new Error(`internal: refusing to delete load balancer ${d.id}, which this proxy did not create`);
    }
    const result = await this.ctx.hns.applyLoadBalancers({
      delete: deletes.map((d) => d.id),
      create: creates.map((c) => ({ ID: ownedIdFor(c.identity), ...c.doc })),
      modify: modifies.map((m) => ({ id: m.cur.id, doc: m.doc })),
    });
    const retry = new LbChanges();
    this.deleted(deletes, result.deleted);
    this.created(creates, result.created);
    this.modified(modifies, result.modified, retry);
    await this.apply(retry);
  }

  private deleted(deletes: LbDelete[], outcomes: LoadBalancerBatchResult['deleted']): void {
    deletes.forEach((d, i) => {
      const o = outcomes[i];
      if (o.ok) this.ctx.counters.loadBalancersDeleted++;
      else if (!isHnsError(o.error, 'not-found')) {
        reportFailure(this.ctx, o.error, `deleting the load balancer ${d.id} (${d.why})`);
        return;
      }
      // A missing one counts as deleted.
      if (d.identity && this.model.get(d.identity)?.id.toUpperCase() === d.id.toUpperCase()) this.model.untrack(d.identity);
      this.owned.dropLoadBalancer(d.id);
    });
  }

  private created(creates: LbCreate[], outcomes: LoadBalancerBatchResult['created']): void {
    creates.forEach((c, i) => {
      const o = outcomes[i];
      if (!o.ok) {
        reportFailure(this.ctx, o.error, `creating the load balancer ${c.identity}`, c.service);
        return;
      }
      const id = o.loadBalancer?.ID ?? ownedIdFor(c.identity);
      this.model.track(c.identity, { id, service: c.service, doc: o.loadBalancer ?? { ...c.doc, ID: id } });
      this.owned.addLoadBalancer(id, c.identity);
      this.ctx.counters.loadBalancersCreated++;
    });
  }

  private modified(modifies: LbUpdate[], outcomes: LoadBalancerBatchResult['modified'], retry: LbChanges): void {
    modifies.forEach((m, i) => {
      const o = outcomes[i];
      if (o.ok) {
        this.model.track(m.identity, { ...m.cur, doc: { ...(o.loadBalancer ?? m.doc), ID: m.cur.id } });
        this.ctx.counters.loadBalancersModified++;
      } else if (isHnsError(o.error, 'unsupported')) {
        if (this.modifySupported) {
          // kube-proxy does the same on "not implemented": delete and create from now on.
          this.modifySupported = false;
          this.ctx.log(
            'warn',
            `HNS refused modifyLoadBalancer (${o.error.message}); replacing load balancers by delete and create from now on`,
          );
        }
        retry.updates.push(m);
      } else if (isHnsError(o.error, 'not-found')) {
        this.model.untrack(m.identity);
        this.owned.dropLoadBalancer(m.cur.id);
        retry.creates.push({ identity: m.identity, service: m.cur.service, doc: m.doc });
      } else {
        reportFailure(this.ctx, o.error, `modifying the load balancer ${m.cur.id} (${m.identity})`, m.cur.service);
      }
    });
  }
}
