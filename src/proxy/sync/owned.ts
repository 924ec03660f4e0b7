/**
 * The objects this proxy owns (ownership.ts says why both a record and a tagged ID), kept in memory and saved
 * through the OwnershipStore only when the set of owned IDs changed (a modify writes nothing).
 */
import { hasOwnedTag, type OwnershipRecord, type OwnershipStore } from './ownership';

export class OwnedObjects {
  /** Upper-case load balancer ID → identity. */
  readonly loadBalancers = new Map<string, string>();
  /** Upper-case remote endpoint ID → address. */
  readonly remoteEndpoints = new Map<string, string>();
  private dirty = false;

  constructor(private readonly store: OwnershipStore) {}

  async load(): Promise<void> {
    const record = await this.store.load();
    for (const [id, identity] of Object.entries(record?.loadBalancers ?? {})) this.loadBalancers.set(id.toUpperCase(), identity);
    for (const [id, ip] of Object.entries(record?.remoteEndpoints ?? {})) this.remoteEndpoints.set(id.toUpperCase(), ip);
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    const record: OwnershipRecord = {
      loadBalancers: Object.fromEntries(this.loadBalancers),
      remoteEndpoints: Object.fromEntries(this.remoteEndpoints),
    };
    await this.store.save(record);
    this.dirty = false;
  }

  /** Recorded, or carrying the tag of the IDs this proxy requests. */
  ownsLoadBalancer(id: string): boolean {
    const upper = id.toUpperCase();
    return this.loadBalancers.has(upper) || hasOwnedTag(upper);
  }

  addLoadBalancer(id: string, identity: string): void {
    const upper = id.toUpperCase();
    if (this.loadBalancers.get(upper) === identity) return;
    this.loadBalancers.set(upper, identity);
    this.dirty = true;
  }

  dropLoadBalancer(id: string): void {
    if (this.loadBalancers.delete(id.toUpperCase())) this.dirty = true;
  }

  addRemoteEndpoint(id: string, ip: string): void {
    this.remoteEndpoints.set(id.toUpperCase(), ip);
    this.dirty = true;
  }

  dropRemoteEndpoint(id: string): void {
    if (this.remoteEndpoints.delete(id.toUpperCase())) this.dirty = true;
  }
}
