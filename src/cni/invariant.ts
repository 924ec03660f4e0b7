/**
 * The endpoint/reservation invariant of one CNI network, checked by one function that the tests, GC and
 * STATUS share:
 *
 *   1. every endpoint `<owner>_<network>` on the network that carries an address inside the IPAM ranges has
 *      exactly one reservation for that address, held by `<owner>`;
 *   2. no two endpoints carry the same address;
 *   3. every reservation in the ranges belongs to such an endpoint, or to an ADD in flight.
 *
 * "In flight" is the attachment's marker (`.inflight.<id>.<ifname>` in the store) being flock-ed right now:
 * an ADD holds it from before its IPAM ADD until its endpoint exists, and the kernel releases it when the
 * process dies, so a killed ADD is never mistaken for a running one and no age threshold is guessed.
 *
 * The owner is the endpoint name's sandbox part, which is the container ID except for a Docker-style
 * `CNI_NETNS` of `container:<id>` (HNS v1 app containers joining a sandbox, which never allocate).
 */
import type { HostNetworkService } from '../dataplane/types';
import type { HostComputeEndpoint } from '../hns';
import { buildQuery } from '../hns/query';
import { formatIp as formatIP, parseIpGo as parseIP } from '../net/ip';
import { sameId } from '../net/id';
import { inRanges, type StoreView } from './ipam/reservations';

export type ViolationKind = 'unreserved' | 'foreign' | 'duplicate-ip' | 'orphan';

export interface Violation {
  kind: ViolationKind;
  ip: string;
  /** The endpoint's owner (unreserved, foreign, duplicate-ip) or the reservation's holder (orphan). */
  owner: string;
  endpoint?: string;
  /** For foreign: who holds the reservation. */
  holder?: string;
  /** For orphan: the reservation's interface name, when the file records it. */
  ifname?: string;
}

export interface InvariantScope {
  /** CNI network name: endpoints are `<owner>_<name>`. */
  name: string;
  /** The HNS network the endpoints live on. */
  networkId: string;
  view: StoreView;
}

export function describe(v: Violation): string {
  switch (v.kind) {
    case 'unreserved':
      return `endpoint ${v.endpoint} carries ${v.ip}, which IPAM has not reserved`;
    case 'foreign':
      return `endpoint ${v.endpoint} carries ${v.ip}, which IPAM has reserved for ${v.holder}`;
    case 'duplicate-ip':
      return `address ${v.ip} is carried by more than one endpoint (${v.endpoint})`;
    case 'orphan':
      return `address ${v.ip} is reserved for ${v.owner} with no endpoint and no ADD in flight`;
  }
}

export interface NetworkEndpoint {
  endpoint: HostComputeEndpoint;
  owner: string;
  ips: string[];
}

/** This network's endpoints named `<owner>_<name>` and the addresses they carry. */
export async function networkEndpoints(
  s: HostNetworkService,
  scope: Pick<InvariantScope, 'name' | 'networkId'>,
): Promise<NetworkEndpoint[]> {
  const suffix = `_${scope.name}`;
  const out: NetworkEndpoint[] = [];
  for (const ep of await s.listEndpoints(buildQuery())) {
    if (!sameId(ep.HostComputeNetwork, scope.networkId) || !ep.Name?.endsWith(suffix)) continue;
    const ips = (ep.IpConfigurations ?? []).map((c) => c.IpAddress ?? '').filter((x) => x !== '');
    out.push({ endpoint: ep, owner: ep.Name.slice(0, -suffix.length), ips });
  }
  return out;
}

/** Every violation of the invariant in scope right now (reads only). */
export async function checkInvariant(s: HostNetworkService, scope: InvariantScope): Promise<Violation[]> {
  const { store } = scope.view;
  // Reservations first, endpoints second: an ADD that finishes between the two reads is seen with its
  // endpoint, so it is never reported as an orphan.
  const reservations = store.list().filter((r) => inRanges(scope.view, r.ip));
  const eps = await networkEndpoints(s, scope);
  const out: Violation[] = [];
  const byIp = new Map<string, NetworkEndpoint[]>();
  for (const e of eps) {
    for (const text of e.ips) {
      const ip = parseIP(text);
      if (!ip || !inRanges(scope.view, ip)) continue;
      const key = formatIP(ip);
      byIp.set(key, [...(byIp.get(key) ?? []), e]);
    }
  }
  const held = new Map(reservations.map((r) => [formatIP(r.ip), r]));
  for (const [ip, list] of byIp) {
    if (list.length > 1)
      out.push({ kind: 'duplicate-ip', ip, owner: list[0].owner, endpoint: list.map((e) => e.endpoint.Name).join(', ') });
    for (const e of list) {
      const r = held.get(ip);
      if (!r) out.push({ kind: 'unreserved', ip, owner: e.owner, endpoint: e.endpoint.Name });
      else if (r.containerID !== e.owner)
        out.push({ kind: 'foreign', ip, owner: e.owner, endpoint: e.endpoint.Name, holder: r.containerID });
    }
  }
  for (const r of reservations) {
    const ip = formatIP(r.ip);
    if (byIp.has(ip)) continue;
    if (store.inflight(r.containerID, r.ifname)) continue;
    out.push({ kind: 'orphan', ip, owner: r.containerID, ifname: r.ifname });
  }
  return out;
}

/**
 * GC's repair: an orphan reservation is released (re-checked under the store lock with the attachment's
 * marker held, so an ADD cannot be between its reservation and its endpoint); an endpoint whose address
 * is unreserved gets that exact address reserved again for its owner (`ifnames` gives the interface name
 * the runtime knows for the owner, `eth0` otherwise). Foreign and duplicate addresses are not guessed at:
 * they stay reported. Returns what was changed, one line each.
 */
export async function repairInvariant(s: HostNetworkService, scope: InvariantScope, ifnames: Map<string, string>): Promise<string[]> {
  const found = await checkInvariant(s, scope);
  const { store } = scope.view;
  const changed: string[] = [];
  for (const v of found) {
    const ip = parseIP(v.ip)!;
    if (v.kind === 'orphan') {
      const marker = store.inflightFile(v.owner, v.ifname ?? '');
      const { tryAcquireLock } = require('../util/file-lock') as typeof import('../util/file-lock');
      const held = v.ifname === undefined ? undefined : tryAcquireLock(marker);
      if (v.ifname !== undefined && !held) continue; // an ADD started meanwhile
      try {
        const stillNoEndpoint = !(await networkEndpoints(s, scope)).some((e) => e.ips.some((x) => x === v.ip));
        if (!stillNoEndpoint) continue;
        const released = await store.locked(() => {
          const r = store.holder(ip);
          if (!r || r.containerID !== v.owner) return false;
          store.release(ip);
          return true;
        });
        if (released) changed.push(`released ${v.ip} (reserved for ${v.owner}, no endpoint)`);
      } finally {
        if (held) {
          // Removed while still held: an ADD waiting on this file notices and locks the path's new file.
          require('node:fs').rmSync(marker, { force: true });
          held.release();
        }
      }
    } else if (v.kind === 'unreserved') {
      const ok = await store.locked(() => store.reserveExact(v.owner, ifnames.get(v.owner) ?? 'eth0', ip));
      if (ok) changed.push(`reserved ${v.ip} again for ${v.owner} (endpoint ${v.endpoint})`);
    }
  }
  for (const n of store.removeStaleMarkers()) changed.push(`removed ${n}, left by a killed ADD`);
  return changed;
}
