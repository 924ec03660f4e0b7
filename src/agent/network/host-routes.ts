/**
 * host-gw peers where the data plane offers the host's route table (capabilities.hostRoutes: Windows, the
 * emulator): one route per programmed peer, its pod subnet via its address, out of the external vSwitch's
 * host vNIC — flannel's Windows host-gw backend (New-NetRoute -InterfaceIndex <management vNIC>
 * -DestinationPrefix <peer subnet> -NextHop <peer IP>, re-checked every 10 s), made level-triggered here:
 * each pass adds what is missing and deletes what this agent added for a peer that is gone. A route for a
 * peer's prefix via another next hop is replaced only when this agent had added it; anyone else's is reported.
 */
import { isHnsError } from '../../hns/errors';
import type { HostRoute, HostRouteTable } from '../../dataplane/types';

export interface HostRouteStep {
  line: string;
  /** The route had been programmed before and was found missing (drift). */
  repair: boolean;
}

/** The host vNIC HNS gives an external vSwitch on adapter `iface`; absent: the best interface to the next hop. */
export function routeInterface(iface?: string): string | undefined {
  return iface ? `vEthernet (${iface})` : undefined;
}

const key = (r: HostRoute) => `${r.destinationPrefix}|${r.nextHop}`;
const show = (r: HostRoute) => `host route ${r.destinationPrefix} via ${r.nextHop}${r.interfaceAlias ? ` on "${r.interfaceAlias}"` : ''}`;

export async function reconcileHostRoutes(
  table: HostRouteTable,
  desired: HostRoute[],
  recorded: HostRoute[],
  programmedBefore: Set<string>,
): Promise<{ steps: HostRouteStep[]; problems: string[] }> {
  const steps: HostRouteStep[] = [];
  const problems: string[] = [];
  const live = await table.list();
  const onIface = (x: HostRoute, r: HostRoute) => !r.interfaceAlias || x.interfaceAlias === r.interfaceAlias;
  const mine = new Set(recorded.map(key));
  const want = new Set(desired.map(key));
  for (const r of recorded) {
    if (want.has(key(r)) || !live.some((x) => key(x) === key(r) && onIface(x, r))) continue;
    await table.delete(r).catch((e) => {
      if (!(isHnsError(e) && e.kind === 'not-found')) throw e;
    });
    steps.push({ line: `delete ${show(r)}: peer gone`, repair: false });
  }
  for (const r of desired) {
    if (live.some((x) => key(x) === key(r) && onIface(x, r))) continue;
    const other = live.filter((x) => x.destinationPrefix === r.destinationPrefix && x.nextHop !== r.nextHop && onIface(x, r));
    const foreign = other.filter((x) => !mine.has(key(x)));
    if (foreign.length) {
      problems.push(`${show(r)} not added: ${foreign.map(show).join(', ')} exists and was not added by this agent`);
      continue;
    }
    for (const x of other) {
      await table.delete(x);
      steps.push({ line: `delete ${show(x)}: the peer's address changed`, repair: false });
    }
    try {
      await table.add(r);
    } catch (e) {
      if (!(isHnsError(e) && e.kind === 'already-exists')) throw e;
      continue;
    }
    const repair = programmedBefore.has(key(r));
    steps.push({ line: `add ${show(r)}: ${repair ? 'missing' : 'new peer'}`, repair });
  }
  return { steps, problems };
}

export { key as hostRouteKey };
