/**
 * The two v1 facts with no v2 home (docs/emulator.md "The v1 surface"): the containers an endpoint is attached
 * to (`SharedContainers`) and policy lists that are not load balancers (ROUTE lists). The memory emulator keeps
 * them in its state file (memory/v1-side.ts); FileV1SideStore keeps them in a file of their own.
 */
import * as path from 'node:path';
import { HRESULT, type HnsV1PolicyList } from '../hns';
import { sameGuid } from '../hns/convert';
import { acquireLock } from '../util/file-lock';
import { mkdirPrivate, readFileNoFollow, writeFileAtomicSync } from '../util/atomic-write';
import { v1Error } from './v1-errors';

export interface V1SideStore {
  /** True when SharedContainers are already in the endpoints' Health.Extra (no per-endpoint lookup needed). */
  readonly embedded?: boolean;
  sharedContainers(endpointId: string): Promise<string[]>;
  /** Atomic read-modify-write of an endpoint's SharedContainers; `call` names the v1 call for errors. */
  updateSharedContainers(endpointId: string, call: string, fn: (list: string[]) => string[]): Promise<string[]>;
  /** Drops whatever is recorded for a deleted endpoint. */
  forgetEndpoint?(endpointId: string): Promise<void>;
  listPolicyLists(): Promise<HnsV1PolicyList[]>;
  createPolicyList(pl: HnsV1PolicyList): Promise<HnsV1PolicyList>;
  /** false when no such list is stored here. */
  deletePolicyList(id: string): Promise<boolean>;
}

interface SideFile {
  SharedContainers: Record<string, string[]>;
  PolicyLists: HnsV1PolicyList[];
}

/**
 * A V1SideStore in its own JSON file (locked, atomically replaced), for data planes whose objects live
 * elsewhere (the linux data plane). The memory emulator keeps the same records in its state file instead.
 */
export class FileV1SideStore implements V1SideStore {
  constructor(
    private readonly file: string,
    private readonly newId: () => string,
  ) {}

  private read(): SideFile {
    let text: string;
    try {
      text = readFileNoFollow(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { SharedContainers: {}, PolicyLists: [] };
      throw new Error(`HNS v1 side store ${this.file} cannot be read: ${(e as Error).message}`);
    }
    try {
      const doc = JSON.parse(text) as SideFile;
      if (!doc || typeof doc.SharedContainers !== 'object' || !Array.isArray(doc.PolicyLists)) throw new Error('unexpected shape');
      return doc;
    } catch (e) {
      throw new Error(`HNS v1 side store ${this.file} is corrupt (${(e as Error).message}); fix or remove it`);
    }
  }

  private async mutate<T>(fn: (d: SideFile) => T): Promise<T> {
    mkdirPrivate(path.dirname(this.file));
    const lock = await acquireLock(this.file + '.lock');
    try {
      const d = this.read();
      const r = fn(d);
      writeFileAtomicSync(this.file, JSON.stringify(d, null, 1) + '\n');
      return r;
    } finally {
      lock.release();
    }
  }

  async sharedContainers(endpointId: string): Promise<string[]> {
    return [...(this.read().SharedContainers[endpointId.toUpperCase()] ?? [])];
  }

  async updateSharedContainers(endpointId: string, _call: string, fn: (list: string[]) => string[]): Promise<string[]> {
    const key = endpointId.toUpperCase();
    return this.mutate((d) => {
      const next = fn([...(d.SharedContainers[key] ?? [])]);
      if (next.length) d.SharedContainers[key] = next;
      else delete d.SharedContainers[key];
      return next;
    });
  }

  async forgetEndpoint(endpointId: string): Promise<void> {
    const key = endpointId.toUpperCase();
    if (!(key in this.read().SharedContainers)) return;
    await this.mutate((d) => {
      delete d.SharedContainers[key];
    });
  }

  async listPolicyLists(): Promise<HnsV1PolicyList[]> {
    return this.read().PolicyLists;
  }

  async createPolicyList(pl: HnsV1PolicyList): Promise<HnsV1PolicyList> {
    return this.mutate((d) => {
      const stored = { ...pl, ID: (pl.ID ?? this.newId()).toUpperCase() };
      if (d.PolicyLists.some((p) => sameGuid(p.ID, stored.ID)))
        throw v1Error(HRESULT.ERROR_ALREADY_EXISTS, 'POST /policylists/', `policy list ${stored.ID}`);
      d.PolicyLists.push(stored);
      return stored;
    });
  }

  async deletePolicyList(id: string): Promise<boolean> {
    if (!this.read().PolicyLists.some((p) => sameGuid(p.ID, id))) return false;
    return this.mutate((d) => {
      const before = d.PolicyLists.length;
      d.PolicyLists = d.PolicyLists.filter((p) => !sameGuid(p.ID, id));
      return d.PolicyLists.length !== before;
    });
  }
}
