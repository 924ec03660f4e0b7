/**
 * host-local's allocator (backend/allocator/allocator.go): round-robin from last_reserved_ip.N + 1 (or
 * the set's first rangeStart), wrapping across the ranges of a set, skipping each range's gateway,
 * giving up after one full lap. Must be called with the store locked.
 */
import { formatIp as formatIP, nextIp as nextIP, sameIp as sameIP, type IP } from '../../net/ip';
import { rangeSetContains, rangeSetString, type Range, type RangeSet } from './config';
import type { DiskStore } from './store';

export interface Allocation {
  address: IP;
  prefix: number;
  gateway: IP;
}

export class AllocationError extends Error {}

class RangeIter {
  private rangeIdx = 0;
  private cur?: IP;
  private startIP?: IP;

  constructor(
    private readonly set: RangeSet,
    last: IP | undefined,
  ) {
    const r = last ? set.findIndex((x) => rangeSetContains([x], last)) : -1;
    if (last && r >= 0) {
      this.rangeIdx = r;
      this.cur = last;
    } else {
      this.startIP = set[0].rangeStart;
    }
  }

  next(): { ip: IP; range: Range } | undefined {
    let r = this.set[this.rangeIdx];
    if (!this.cur) {
      this.cur = r.rangeStart;
      this.startIP = this.cur;
      if (sameIP(this.cur, r.gateway)) return this.next();
      return { ip: this.cur, range: r };
    }
    if (sameIP(this.cur, r.rangeEnd)) {
      this.rangeIdx = (this.rangeIdx + 1) % this.set.length;
      r = this.set[this.rangeIdx];
      this.cur = r.rangeStart;
    } else {
      this.cur = nextIP(this.cur);
    }
    if (!this.startIP) this.startIP = this.cur;
    else if (sameIP(this.cur, this.startIP)) return undefined;
    if (sameIP(this.cur, r.gateway)) return this.next();
    return { ip: this.cur, range: r };
  }
}

/**
 * `held`: the addresses (id, ifname) holds now, when the caller has just listed the store under the same
 * lock hold (saves a second directory scan); else they are read here.
 */
export function allocate(
  store: DiskStore,
  set: RangeSet,
  rangeID: number,
  id: string,
  ifname: string,
  requested?: IP,
  held?: readonly IP[],
): Allocation {
  if (requested) {
    const r = rangeSetContains(set, requested);
    if (!r) throw new AllocationError(`${formatIP(requested)} not in range set ${rangeSetString(set)}`);
    if (sameIP(requested, r.gateway)) throw new AllocationError(`requested ip ${formatIP(requested)} is subnet's gateway`);
    if (!store.reserve(id, ifname, requested, String(rangeID))) {
      throw new AllocationError(`requested IP address ${formatIP(requested)} is not available in range set ${rangeSetString(set)}`);
    }
    return { address: requested, prefix: r.subnet.prefix, gateway: r.gateway };
  }
  for (const h of held ?? store.getByID(id, ifname)) {
    if (rangeSetContains(set, h))
      throw new AllocationError(`${formatIP(h)} has been allocated to ${id}, duplicate allocation is not allowed`);
  }
  const iter = new RangeIter(set, store.lastReservedIP(String(rangeID)));
  // Bounded by the iterator's lap detection; reserve() is the create-exclusive test-and-set.
  for (let c = iter.next(); c; c = iter.next()) {
    if (store.reserve(id, ifname, c.ip, String(rangeID))) return { address: c.ip, prefix: c.range.subnet.prefix, gateway: c.range.gateway };
  }
  throw new AllocationError(`no IP addresses available in range set: ${rangeSetString(set)}`);
}

/** Number of allocatable addresses in a set (gateways inside a range excluded). */
export function capacity(set: RangeSet): bigint {
  let n = 0n;
  for (const r of set) {
    n += r.rangeEnd.n - r.rangeStart.n + 1n;
    if (r.gateway.n >= r.rangeStart.n && r.gateway.n <= r.rangeEnd.n) n -= 1n;
  }
  return n;
}
