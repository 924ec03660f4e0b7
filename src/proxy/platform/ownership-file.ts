/**
 * The ownership record in a state file (default beside the agent's state: /var/lib/switchyard/proxy-owned.json,
 * %ProgramData%\switchyard\proxy-owned.json), replaced atomically so a crash leaves the old or the new record.
 */
import * as fs from 'node:fs';
import { writeFileAtomicSync } from '../../util/atomic-write';
import type { OwnershipRecord, OwnershipStore } from '../sync/ownership';

export class FileOwnershipStore implements OwnershipStore {
  constructor(readonly file: string) {}

  async load(): Promise<OwnershipRecord | undefined> {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`proxy ownership record ${this.file} cannot be read: ${(e as Error).message}`);
    }
    let doc: Partial<OwnershipRecord>;
    try {
      doc = JSON.parse(text) as Partial<OwnershipRecord>;
    } catch (e) {
      throw new Error(
        `proxy ownership record ${this.file} is not JSON (${(e as Error).message}); fix or remove it (the proxy then recognises its load balancers by their tagged IDs)`,
      );
    }
    const isMap = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
    if (!isMap(doc.loadBalancers) || !isMap(doc.remoteEndpoints)) {
      throw new Error(`proxy ownership record ${this.file}: fields "loadBalancers" and "remoteEndpoints" must be objects`);
    }
    return { loadBalancers: doc.loadBalancers!, remoteEndpoints: doc.remoteEndpoints! };
  }

  async save(record: OwnershipRecord): Promise<void> {
    writeFileAtomicSync(this.file, JSON.stringify(record) + '\n', 0o600);
  }
}
