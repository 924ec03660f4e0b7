/**
 * The load-balancer batch operation of the host network service (HostNetworkService.applyLoadBalancers):
 * many creates, modifies and deletes in one call, each with its own outcome. HNS has no such call, so the
 * Windows planes loop over their per-LB calls (applyLoadBalancersOneByOne); the linux plane realizes a whole
 * batch as one nftables transaction and one state write, which is what makes a proxy's full sync of
 * thousands of Services cost about as much as loading the same rules once. The call log records a batch as
 * the per-LB calls HNS would have received, so call counts mean the same on every plane.
 */
import type { HostComputeLoadBalancer } from '../hns';
import type { LoadBalancerBatch, LoadBalancerBatchResult, LoadBalancerOutcome } from './types';

export type { LoadBalancerBatch, LoadBalancerBatchResult, LoadBalancerModify, LoadBalancerOutcome } from './types';

type PerLbCalls = {
  createLoadBalancer(doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer>;
  modifyLoadBalancer(id: string, doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer>;
  deleteLoadBalancer(id: string): Promise<void>;
};

async function outcome(run: () => Promise<HostComputeLoadBalancer | void>): Promise<LoadBalancerOutcome> {
  try {
    const lb = await run();
    return lb ? { ok: true, loadBalancer: lb } : { ok: true };
  } catch (e) {
    return { ok: false, error: e as Error };
  }
}

/** The batch as the per-LB calls, in order (deletes, creates, modifies); one failure does not stop the rest. */
export async function applyLoadBalancersOneByOne(hns: PerLbCalls, batch: LoadBalancerBatch): Promise<LoadBalancerBatchResult> {
  const result: LoadBalancerBatchResult = { deleted: [], created: [], modified: [] };
  for (const id of batch.delete ?? []) result.deleted.push(await outcome(() => hns.deleteLoadBalancer(id)));
  for (const doc of batch.create ?? []) result.created.push(await outcome(() => hns.createLoadBalancer(doc)));
  for (const m of batch.modify ?? []) result.modified.push(await outcome(() => hns.modifyLoadBalancer(m.id, m.doc)));
  return result;
}

/** The per-LB calls a batch stands for (call logs, dry runs): op, subject ID, document. */
export function batchCalls(
  batch: LoadBalancerBatch,
): { op: 'deleteLoadBalancer' | 'createLoadBalancer' | 'modifyLoadBalancer'; id?: string; body?: unknown }[] {
  return [
    ...(batch.delete ?? []).map((id) => ({ op: 'deleteLoadBalancer' as const, id })),
    ...(batch.create ?? []).map((doc) => ({ op: 'createLoadBalancer' as const, id: doc.ID, body: doc as unknown })),
    ...(batch.modify ?? []).map((m) => ({ op: 'modifyLoadBalancer' as const, id: m.id, body: m.doc as unknown })),
  ];
}
