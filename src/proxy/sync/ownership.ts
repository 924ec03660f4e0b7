/**
 * Which HNS objects this proxy created. HNS load balancers carry no name or owner field (hcsshim's
 * HostComputeLoadBalancer has none), so ownership is kept two ways:
 *  1. the proxy asks HNS for a deterministic ID: the GUID derived from the object's identity, whose first
 *     group is the tag 53575944 ("SWYD"). Where HNS honours the requested ID (the emulator and the stub do;
 *     real HNS is an open item, hcn-api.md §10), an LB is recognisably ours even after a crash between
 *     create and the record write;
 *  2. a record of created IDs (a state file in production, src/proxy/platform/ownership-file.ts), which covers
 *     hosts that assign their own IDs.
 * An object is owned when either says so. Nothing else is ever modified or deleted.
 */
import { createHash } from 'node:crypto';

export interface OwnershipRecord {
  /** HNS load balancer ID → identity (see DesiredLoadBalancer.identity). */
  loadBalancers: Record<string, string>;
  /** HNS remote endpoint ID → address. */
  remoteEndpoints: Record<string, string>;
}

export interface OwnershipStore {
  /** The last saved record, or undefined when there is none (first start). */
  load(): Promise<OwnershipRecord | undefined>;
  save(record: OwnershipRecord): Promise<void>;
}

export class MemoryOwnershipStore implements OwnershipStore {
  record?: OwnershipRecord;
  saves = 0;

  async load(): Promise<OwnershipRecord | undefined> {
    return this.record && structuredClone(this.record);
  }

  async save(record: OwnershipRecord): Promise<void> {
    this.saves++;
    this.record = structuredClone(record);
  }
}

export const OWNED_ID_TAG = '53575944';

/** The GUID this proxy requests for an object: tag + SHA-1 of the identity, RFC 4122 version 5 bits. */
export function ownedIdFor(identity: string): string {
  const h = createHash('sha1').update(identity).digest('hex');
  const v = h.slice(12, 15);
  const variant = ((parseInt(h[15], 16) & 0x3) | 0x8).toString(16);
  return `${OWNED_ID_TAG}-${h.slice(0, 4)}-5${v}-${variant}${h.slice(16, 19)}-${h.slice(19, 31)}`.toUpperCase();
}

export function hasOwnedTag(id: string | undefined): boolean {
  return typeof id === 'string' && id.toUpperCase().startsWith(OWNED_ID_TAG + '-');
}
