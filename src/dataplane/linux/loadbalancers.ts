/**
 * Load balancers: stored documents realized in the `ip switchyard-lb` table (lb-nft.ts), one transaction per
 * call holding only this LB's element and chain changes. The kernel is the truth: an LB whose map elements
 * vanished out of band is reported absent (and its record of realization dropped, the table rebuilt from
 * the others), so a caller that creates it again (the service proxy's drift repair) realizes it anew.
 */
import { checkLoadBalancerRealizable } from './realizable';
import { HnsError, SCHEMA_V2, type HostComputeLoadBalancer, type HostComputeQuery } from '../../hns';
import type { LinuxContext } from './context';
import { clone } from './clone';
import { newId } from './ids';
import { queryMatcher } from './query';
import { FrontendInUseError, kernelLoadBalancerElements, syncLoadBalancerTable } from './lb-nft';
import { key, type LinuxState } from './state';
import { toHnsError } from './errors';

/** Keys of the LBs recorded as realized whose map elements are no longer all in the kernel. */
function drifted(c: LinuxContext, s: LinuxState): string[] {
  const realized = s.lbNft ?? {};
  if (!Object.keys(realized).length) return [];
  const have = kernelLoadBalancerElements(c.netns);
  return Object.entries(realized)
    .filter(([, r]) => r.elements.some((e) => !have.has(e)))
    .map(([k]) => k);
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

function putLoadBalancer(
  c: LinuxContext,
  call: string,
  id: string,
  doc: HostComputeLoadBalancer,
  mustExist: boolean,
): Promise<HostComputeLoadBalancer> {
  return c.mutate(call, `load balancer ${id}`, (s) => {
    checkLoadBalancerRealizable(doc, call, `load balancer ${id}`);
    forgetDrifted(c, s);
    const k = key(id);
    const existing = s.loadBalancers[k];
    if (mustExist && !existing) throw HnsError.of('ERROR_NOT_FOUND', { call, subject: `load balancer ${id}` });
    // A record without realization is an LB whose rules vanished: creating it again is the repair.
    if (!mustExist && existing && realizedIn(s, k)) throw HnsError.of('ERROR_ALREADY_EXISTS', { call, subject: `load balancer ${id}` });
    for (const epId of doc.HostComputeEndpoints ?? []) c.endpoint(s, epId, call);
    const stored: HostComputeLoadBalancer = { ...clone(doc), ID: id, SchemaVersion: { ...SCHEMA_V2 } };
    s.loadBalancers[k] = stored;
    try {
      syncLoadBalancerTable(s, c.netns, c.env, { only: [k] });
    } catch (e) {
      if (existing) s.loadBalancers[k] = existing;
      else delete s.loadBalancers[k];
      if (e instanceof FrontendInUseError) throw HnsError.of('HCN_E_PORT_ALREADY_EXISTS', { call, subject: e.message });
      throw toHnsError(e, { call, subject: `load balancer ${id}` });
    }
    return clone(stored);
  });
}

export function createLoadBalancer(c: LinuxContext, doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
  return putLoadBalancer(c, 'HcnCreateLoadBalancer', doc.ID ?? newId(), doc, false);
}

export function modifyLoadBalancer(c: LinuxContext, id: string, doc: HostComputeLoadBalancer): Promise<HostComputeLoadBalancer> {
  return putLoadBalancer(c, 'HcnModifyLoadBalancer', id, doc, true);
}

export async function deleteLoadBalancer(c: LinuxContext, id: string): Promise<void> {
  await c.mutate('HcnDeleteLoadBalancer', `load balancer ${id}`, (s) => {
    const k = key(id);
    if (!s.loadBalancers[k]) throw HnsError.of('ERROR_NOT_FOUND', { call: 'HcnDeleteLoadBalancer', subject: `load balancer ${id}` });
    delete s.loadBalancers[k];
    syncLoadBalancerTable(s, c.netns, c.env, { only: [k] });
  });
}
