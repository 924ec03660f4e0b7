/**
 * The agent's addresses in the same host-local store the CNI plugins allocate from
 * (`<dataDir>/<network name>`), so no pod is ever handed the host endpoint's .2 or the source VIP; and the
 * boot-time collection of reservations whose endpoint is gone (CNI DEL never runs after a hard reboot).
 */
import * as fs from 'node:fs';
import { DiskStore } from '../../cni/ipam/store';
import {
  formatIp as formatIP,
  parseIpGo as parseIP,
  parseCidrGo as parseCIDR,
  contains,
  nextIp as nextIP,
  lastOf,
  networkOf,
  sameIp as sameIP,
} from '../../net/ip';
import type { HostComputeEndpoint } from '../../hns/endpoint';

export const HOST_ENDPOINT_ID = 'switchyard-agent-host-endpoint';
export const SOURCE_VIP_ID = 'switchyard-agent-source-vip';
const IFNAME = 'agent';
const OWN = new Set([HOST_ENDPOINT_ID, SOURCE_VIP_ID]);

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
 * Releases reservations in the store that no endpoint of the network accounts for (by address, or by the
 * CNI's `<containerID>_<network>` name), except the agent's own and those younger than minAgeMs.
 * Returns the released addresses.
 */
export async function collectStale(
  store: DiskStore,
  network: string,
  endpoints: HostComputeEndpoint[],
  minAgeMs = 60_000,
  now = Date.now(),
): Promise<string[]> {
  const ips = new Set<string>();
  const names = new Set<string>();
  for (const ep of endpoints) {
    if (ep.Name) names.add(ep.Name);
    for (const c of ep.IpConfigurations ?? []) {
      const ip = c.IpAddress ? parseIP(c.IpAddress) : undefined;
      if (ip) ips.add(formatIP(ip));
    }
  }
  return store.locked(() => {
    const freed: string[] = [];
    for (const r of store.list()) {
      if (OWN.has(r.containerID)) continue;
      if (ips.has(formatIP(r.ip)) || names.has(`${r.containerID}_${network}`)) continue;
      // A CNI ADD reserves before it creates the endpoint: a fresh reservation may be one in flight.
      let mtime: number;
      try {
        mtime = fs.statSync(r.file).mtimeMs;
      } catch {
        continue;
      }
      if (now - mtime < minAgeMs) continue;
      store.release(r.ip);
      freed.push(formatIP(r.ip));
    }
    return freed;
  });
}
