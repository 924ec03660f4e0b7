/**
 * The IPAM side of the endpoint/reservation invariant (src/cni/invariant.ts) for the store-backed IPAM
 * types (`switchyard-ipam` and `host-local`, which share one on-disk store): find the store a call uses,
 * hold an attachment's in-flight marker around an ADD, and make sure an address an endpoint already carries
 * is reserved for its owner. Other IPAM types keep their own books: nothing here applies to them.
 */
import type { FileLock } from '../../util/file-lock';
import { parseIpGo as parseIP, type IP } from '../../net/ip';
import { loadIpamConfig, rangeSetContains, type RangeSet } from './config';
import { DiskStore, type Reservation } from './store';
import type { IpamCall } from './index';

export interface StoreView {
  store: DiskStore;
  ranges: RangeSet[];
}

export function storeBackedType(type: string): boolean {
  return type === 'switchyard-ipam' || type === 'host-local';
}

/** The store and ranges a call uses; undefined for other IPAM types or a config IPAM itself will refuse. */
export function storeOf(call: IpamCall, create: boolean): StoreView | undefined {
  if (!storeBackedType(call.type)) return undefined;
  let conf;
  try {
    conf = loadIpamConfig(call.config, call.cniArgs);
  } catch {
    return undefined;
  }
  try {
    return { store: new DiskStore(conf.dataDir, conf.name, create), ranges: conf.ranges };
  } catch {
    // An unusable dataDir: IPAM's own call reports it.
    return undefined;
  }
}

export function inRanges(view: StoreView, ip: IP): boolean {
  return view.ranges.some((set) => rangeSetContains(set, ip) !== undefined);
}

/** Runs fn holding the attachment's in-flight marker (no marker for IPAM types without the shared store). */
export async function withInflight<T>(call: IpamCall, owner: string, fn: () => Promise<T>): Promise<T> {
  const view = storeOf(call, true);
  let marker: FileLock | undefined;
  if (view) marker = await view.store.holdInflight(owner, call.ifName);
  try {
    return await fn();
  } finally {
    marker?.release();
  }
}

export type EnsureOutcome = { kind: 'held' } | { kind: 'restored'; ips: string[] } | { kind: 'foreign'; ip: string; holder: Reservation };

/**
 * An ADD that reuses an endpoint left by an earlier call: every address the endpoint carries must be
 * reserved for its owner. Missing reservations are re-created (exactly that address); an address
 * reserved by another container is reported, and the caller replaces the stale endpoint.
 */
export async function ensureReserved(call: IpamCall, owner: string, ips: string[]): Promise<EnsureOutcome> {
  const view = storeOf(call, true);
  if (!view) return { kind: 'held' };
  return view.store.locked(() => {
    const restored: string[] = [];
    for (const text of ips) {
      const ip = parseIP(text);
      if (!ip || !inRanges(view, ip)) continue;
      const h = view.store.holder(ip);
      if (h) {
        if (h.containerID !== owner.trim()) return { kind: 'foreign', ip: text, holder: h } as EnsureOutcome;
        continue;
      }
      if (view.store.reserveExact(owner, call.ifName, ip)) restored.push(text);
    }
    return restored.length ? { kind: 'restored', ips: restored } : { kind: 'held' };
  });
}

/**
 * Before an ADD that will create a new endpoint allocates: reservations this attachment still holds belong
 * to no endpoint (the caller checked none exists, and holds the in-flight marker, so no other ADD of the
 * attachment is running). They are left-overs of a killed call; releasing them lets the allocation succeed
 * instead of host-local's "duplicate allocation" refusal.
 */
export async function releaseStale(call: IpamCall, owner: string): Promise<void> {
  const view = storeOf(call, false);
  if (!view || !view.store.exists()) return;
  await view.store.locked(() => {
    for (const r of view.store.list()) {
      if (r.containerID === owner.trim() && (r.ifname === undefined || r.ifname === call.ifName) && inRanges(view, r.ip)) {
        view.store.release(r.ip);
      }
    }
  });
}
