/** v1-only records (SharedContainers, ROUTE policy lists) kept in the emulator's own state file. */
import type { HnsV1PolicyList } from '../../hns';
import type { V1SideStore } from '../v1-side-store';
import type { MemoryHns } from './emulator';
import { clone, newGuid, sameGuid } from './lookup';
import { canonicalGuid, fail, isGuid } from './validate';

export class MemoryV1SideStore implements V1SideStore {
  readonly embedded = true;

  constructor(private readonly hns: MemoryHns) {}

  async sharedContainers(endpointId: string): Promise<string[]> {
    const ep = await this.hns.getEndpoint(endpointId);
    return [...(ep.Health?.Extra?.SharedContainers ?? [])];
  }

  async updateSharedContainers(endpointId: string, call: string, fn: (list: string[]) => string[]): Promise<string[]> {
    return this.hns.updateSharedContainers(endpointId, call, fn);
  }

  async listPolicyLists(): Promise<HnsV1PolicyList[]> {
    return clone(this.hns.store.read().PolicyLists);
  }

  async createPolicyList(pl: HnsV1PolicyList): Promise<HnsV1PolicyList> {
    return this.hns.store.mutate((s) => {
      const id = pl.ID && isGuid(pl.ID) ? canonicalGuid(pl.ID) : newGuid();
      if (s.PolicyLists.some((p) => sameGuid(p.ID, id)) || s.LoadBalancers.some((l) => sameGuid(l.ID, id))) {
        fail('ERROR_ALREADY_EXISTS', { call: 'POST /policylists/', subject: `policy list ${id}` });
      }
      for (const ref of pl.References ?? []) {
        const m = /^\/endpoints\/([^/]+)\/?$/i.exec(String(ref));
        if (!m || !s.Endpoints.some((e) => sameGuid(e.ID, m[1]))) {
          fail('HCN_E_ENDPOINT_NOT_FOUND', { call: 'POST /policylists/', subject: `policy list reference ${String(ref)}` });
        }
      }
      const stored = { ...pl, ID: id };
      s.PolicyLists.push(stored);
      return clone(stored);
    });
  }

  async deletePolicyList(id: string): Promise<boolean> {
    return this.hns.store.mutate((s) => {
      const before = s.PolicyLists.length;
      s.PolicyLists = s.PolicyLists.filter((p) => !sameGuid(p.ID, id));
      return s.PolicyLists.length !== before;
    });
  }
}
