/**
 * Load balancers: stored documents realized in the `ip switchyard-lb` table (lb-nft.ts). Every change goes
 * through one path, applyLoadBalancers: a batch of deletes, creates and modifies is validated item by item
 * (a refused item gets its own error and changes nothing), then the accepted ones are applied as one nft
 * transaction holding only their element and chain changes, and the state is written once. The per-LB calls
 * are batches of one. The kernel is the truth: an LB whose map elements vanished out of band is reported
 * absent (and its record of realization dropped, the table rebuilt from the others), so a caller that creates
 * it again (the service proxy's drift repair) realizes it anew.
 */
import { HnsError, type HostComputeLoadBalancer, type HostComputeQuery } from '../../hns';
import type { LoadBalancerBatch, LoadBalancerBatchResult, LoadBalancerOutcome } from '../lb-batch';
import type { LinuxContext } from './context';
import { clone } from './clone';
import { queryMatcher } from './query';
import { elementsAt, kernelLoadBalancerElements, realizedAt, syncLoadBalancerTable } from './lb-nft';
import { LbBatchStaging } from './lb-staging';
import { key, type LinuxState } from './state';
import { toHnsError } from './errors';

/**
 * Keys of the LBs recorded as realized whose map elements are no longer all in the kernel: a frontend in a
 * verdict map, or a slot range of a backend map (a range deleted out of band would send its share of
 * connections to the reject rules).
 */
function drifted(c: LinuxContext, s: LinuxState): string[] {
  const realized = s.lbNft ?? {};
  if (!Object.keys(realized).length) return [];
  const have = kernelLoadBalancerElements(c.netns);
  const missing = (e: string) => !have.has(e);
  return Object.keys(realized).filter((k) => elementsAt(s, k).some(missing) || (realizedAt(s, k)?.mapElements ?? []).some(missing));
}

/** The state with LBs whose kernel realization is incomplete left out. A read: nothing is written or rebuilt. */
async function kernelView(c: LinuxContext): Promise<LinuxState> {
  const s = c.read();
  const gone = drifted(c, s);
  if (!gone.length) return s;
  const lbNft = { ...s.lbNft };
  for (const k of gone) delete lbNft[k];
  return { ...s, lbNft };
}

/** In a write: forgets the realization of drifted LBs and rebuilds the table from the others (the repair). */
function forgetDrifted(c: LinuxContext, s: LinuxState): void {
  const gone = drifted(c, s);
  if (!gone.length) return;
  for (const k of gone) delete s.lbNft?.[k];
  syncLoadBalancerTable(s, c.netns, c.env, { force: true, realizedOnly: true });
}

const realizedIn = (s: LinuxState, k: string) => s.lbNft?.[k] !== undefined;

export async function listLoadBalancers(c: LinuxContext, query?: HostComputeQuery): Promise<HostComputeLoadBalancer[]> {
  const s = await kernelView(c);
  return Object.entries(s.loadBalancers)
    .filter(([k]) => realizedIn(s, k))
    .map(([, lb]) => lb)
    .filter(queryMatcher(query))
    .map(clone);
}

export async function getLoadBalancer(c: LinuxContext, id: string): Promise<HostComputeLoadBalancer> {
  const s = await kernelView(c);
  const lb = s.loadBalancers[key(id)];
  if (!lb || !realizedIn(s, key(id))) throw HnsError.of('ERROR_NOT_FOUND', { call: 'HcnOpenLoadBalancer', subject: `load balancer ${id}` });
  return clone(lb);
}

/** Deletes, then creates, then modifies: one state read, one nft transaction, one state write. */
export async function applyLoadBalancers(c: LinuxContext, batch: LoadBalancerBatch): Promise<LoadBalancerBatchResult> {
  const deletes = batch.delete ?? [];
  const creates = batch.create ?? [];
  const modifies = batch.modify ?? [];
  const total = deletes.length + creates.length + modifies.length;
  if (total === 0) return { deleted: [], created: [], modified: [] };
  const single = total === 1;
  // A batch of one fails with the per-LB call's name; a bigger one names the batch.
  const call = single
    ? deletes.length
      ? 'HcnDeleteLoadBalancer'
      : creates.length
        ? 'HcnCreateLoadBalancer'
        : 'HcnModifyLoadBalancer'
    : 'HcnApplyLoadBalancers';
  const subject = single ? `load balancer ${deletes[0] ?? creates[0]?.ID ?? modifies[0]?.id ?? ''}` : `${total} load balancer changes`;
  let staging: LbBatchStaging | undefined;
  try {
    return await c.mutate(call, subject, (s) => {
      // Creating an LB the state still records is the drift repair: forget what vanished from the kernel first
      // (a write, so reads stay reads). Other batches skip the kernel listing, which costs O(LBs).
      if (creates.some((d) => d.ID !== undefined && s.loadBalancers[key(d.ID)] !== undefined)) forgetDrifted(c, s);
      staging = new LbBatchStaging(c, s);
      const result: LoadBalancerBatchResult = {
        deleted: deletes.map((id) => staging!.delete(id)),
        created: creates.map((doc) => staging!.put(doc, false)),
        modified: modifies.map((m) => staging!.put({ ...m.doc, ID: m.id }, true)),
      };
      if (!staging.changed()) return result;
      try {
        syncLoadBalancerTable(s, c.netns, c.env, { changes: staging.changes(), before: staging.replaced() });
      } catch (e) {
        // Nothing of the batch reached the kernel (one transaction, and the rebuild failed too).
        staging.rollback();
        const err = toHnsError(e, { call, subject });
        const failed = (o: LoadBalancerOutcome): LoadBalancerOutcome => (o.ok ? { ok: false, error: err } : o);
        return { deleted: result.deleted.map(failed), created: result.created.map(failed), modified: result.modified.map(failed) };
      }
      return result;
    });
  } catch (e) {
    // The state could not be read or written: every change of the batch failed.
    const err = toHnsError(e, { call, subject });
    const all = (n: number): LoadBalancerOutcome[] => Array.from({ length: n }, () => ({ ok: false, error: err }));
    return { deleted: all(deletes.length), created: all(creates.length), modified: all(modifies.length) };
  }
}

function only(outcomes: LoadBalancerOutcome[]): HostComputeLoadBalancer | undefined {
  const o = outcomes[0];
  if (!o.ok) throw o.error;
  return o.loadBalancer;
}

export async function createLoadBalancer(c: LinuxContext, doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
  return only((await applyLoadBalancers(c, { create: [doc] })).created)!;
}

export async function modifyLoadBalancer(c: LinuxContext, id: string, doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
  return only((await applyLoadBalancers(c, { modify: [{ id, doc }] })).modified)!;
}

export async function deleteLoadBalancer(c: LinuxContext, id: string): Promise<void> {
  only((await applyLoadBalancers(c, { delete: [id] })).deleted);
}
