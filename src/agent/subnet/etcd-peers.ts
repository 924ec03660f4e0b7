/**
 * The etcd source's view of the other nodes: the lease keys under `<prefix>/subnets/` parsed into NodeLease
 * values, the keys that cannot be programmed (bad JSON, an unknown backend) with the reason, and the change
 * listeners. It does no I/O: the source feeds it lists and watch events.
 */
import type { Logger } from '../../util/log';
import { parseSubnetKey } from './allocate';
import { parseLeaseValue } from './flannel';
import type { NodeLease } from './types';

export class EtcdPeerTable {
  private readonly peerMap = new Map<string, NodeLease>();
  /** Keys seen that cannot be programmed, with the reason (logged once per distinct reason). */
  private readonly badLeases = new Map<string, string>();
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly subnetsPrefix: string,
    private readonly log: Logger,
  ) {}

  peers(): NodeLease[] {
    return [...this.peerMap.values()].sort((a, b) => a.subnet.localeCompare(b.subnet, 'en', { numeric: true }));
  }

  unusable(): { node: string; why: string }[] {
    return [...this.badLeases]
      .map(([key, why]) => ({ node: key.slice(this.subnetsPrefix.length), why }))
      .sort((a, b) => a.node.localeCompare(b.node));
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  emit(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (e) {
        this.log.error('subnet change listener failed', { error: (e as Error).message });
      }
    }
  }

  /** A full list: every key in it is set, every key not in it is dropped. Returns whether the peers changed. */
  replaceAll(leases: { key: string; value: string }[]): boolean {
    let changed = false;
    const seen = new Set<string>();
    for (const l of leases) {
      seen.add(l.key);
      changed = this.put(l.key, l.value) || changed;
    }
    for (const k of [...this.peerMap.keys()]) if (!seen.has(k)) changed = this.set(k, undefined) || changed;
    for (const k of [...this.badLeases.keys()]) if (!seen.has(k)) this.badLeases.delete(k);
    return changed;
  }

  /** A put of a peer's key. Returns whether the peers changed. */
  put(key: string, value: string): boolean {
    return this.set(key, this.parse(key, value));
  }

  /** A delete of a peer's key. Returns whether the peers changed. */
  remove(key: string): boolean {
    this.badLeases.delete(key);
    return this.set(key, undefined);
  }

  private parse(key: string, value: string): NodeLease | undefined {
    const subnet = parseSubnetKey(key);
    if (!subnet) return undefined;
    try {
      const lease = parseLeaseValue(subnet, value);
      this.badLeases.delete(key);
      return lease;
    } catch (e) {
      const why = (e as Error).message;
      if (this.badLeases.get(key) !== why) this.log.warn('ignoring a lease Switchyard cannot program', { key, error: why });
      this.badLeases.set(key, why);
      return undefined;
    }
  }

  private set(key: string, lease: NodeLease | undefined): boolean {
    if (lease === undefined && !this.peerMap.has(key)) return false;
    const before = this.peerMap.get(key);
    if (lease) this.peerMap.set(key, lease);
    else this.peerMap.delete(key);
    return JSON.stringify(before ?? null) !== JSON.stringify(lease ?? null);
  }
}
