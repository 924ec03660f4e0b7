/**
 * The agent's addresses in the same host-local store the CNI plugins allocate from
 * (`<dataDir>/<network name>`), so no pod is ever handed the host endpoint's .2 or the source VIP; and the
 * boot-time collection of reservations whose endpoint is gone (CNI DEL never runs after a hard reboot).
 */
import { DiskStore } from '../../cni/ipam/store';
import type { RangeSet } from '../../cni/ipam/config';
import { repairInvariant } from '../../cni/invariant';
import type { HostNetworkService } from '../../dataplane/types';
import {
  formatIp as formatIP,
  parseIpGo as parseIP,
  parseCidrGo as parseCIDR,
  contains,
  nextIp as nextIP,
  lastOf,
  networkOf,
  sameIp as sameIP,
  type IP,
} from '../../net/ip';

export const HOST_ENDPOINT_ID = 'switchyard-agent-host-endpoint';
export const SOURCE_VIP_ID = 'switchyard-agent-source-vip';
const IFNAME = 'agent';

export class ReservationError extends Error {}

export function openStore(dataDir: string, network: string): DiskStore {
  return new DiskStore(dataDir, network);
}

/** Reserves exactly `ip` for `id`; refuses (naming the holder) when a pod already holds it. */
export async function reserveExact(store: DiskStore, id: string, ip: string): Promise<void> {
  const want = parseIP(ip)!;
  await store.locked(() => {
    const holder = store.list().find((r) => sameIP(r.ip, want));
    if (holder) {
      if (holder.containerID === id) return;
      throw new ReservationError(
        `${ip} is held in the IPAM store ${store.dir} by container ${holder.containerID}: the agent needs it for the host endpoint; free it (delete that pod) and the agent takes it on its next pass`,
      );
    }
    store.reserve(id, IFNAME, want, '0');
  });
}

/** The address `id` holds in the subnet, or the first free one from .3 on (reserved for it). */
export async function reserveAny(store: DiskStore, id: string, subnet: string): Promise<string> {
  const c = parseCIDR(subnet)!;
  const net = { ip: networkOf(c.ip, c.prefix), prefix: c.prefix };
  return store.locked(() => {
    const held = store.list().find((r) => r.containerID === id && contains(net, r.ip));
    if (held) return formatIP(held.ip);
    const last = lastOf(net);
    for (let ip = nextIP(nextIP(nextIP(net.ip))); ip.n < last.n; ip = nextIP(ip)) {
      // reserve() is the create-exclusive test-and-set; a taken address just moves on.
      if (store.reserve(id, IFNAME, ip, '0')) return formatIP(ip);
    }
    throw new ReservationError(`no free address in ${subnet} for the source VIP (IPAM store ${store.dir})`);
  });
}

/**
 * The boot collection, through the CNI's own endpoint/reservation invariant (src/cni/invariant.ts, the one
 * CNI GC and STATUS use): a reservation in the subnet that no endpoint `<owner>_<network>` of the network
 * carries, and whose attachment has no ADD in flight (its marker unlocked), is released. The agent's own
 * addresses (host endpoint, source VIP) are outside the ranges it checks, so they are never collected.
 * Returns what was changed, one line each.
 */
export async function collectStale(
  svc: HostNetworkService,
  store: DiskStore,
  scope: { network: string; networkId: string; subnet: string; keep: string[] },
): Promise<string[]> {
  return repairInvariant(
    svc,
    { name: scope.network, networkId: scope.networkId, view: { store, ranges: [rangesExcept(scope.subnet, scope.keep)] } },
    new Map(),
  );
}

/** The subnet's usable addresses minus `keep`, as host-local ranges (one range set: any of them). */
export function rangesExcept(subnet: string, keep: string[]): RangeSet {
  const c = parseCIDR(subnet)!;
  const net = { ip: networkOf(c.ip, c.prefix), prefix: c.prefix };
  const first = nextIP(net.ip);
  const last = { v: net.ip.v, n: lastOf(net).n - 1n };
  const holes = keep
    .map((k) => parseIP(k))
    .filter((ip): ip is IP => !!ip && ip.n >= first.n && ip.n <= last.n)
    .sort((x, y) => (x.n < y.n ? -1 : x.n > y.n ? 1 : 0));
  const out: RangeSet = [];
  let start = first;
  for (const h of [...holes, { v: net.ip.v, n: last.n + 1n }]) {
    if (h.n > start.n) out.push({ subnet: net, rangeStart: start, rangeEnd: { v: h.v, n: h.n - 1n }, gateway: first });
    start = { v: h.v, n: h.n + 1n };
  }
  return out;
}
