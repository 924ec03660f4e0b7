/**
 * Remote endpoints (HNS endpoints with IsRemoteEndpoint for backends on other nodes): created before the load
 * balancers that reference them, reference-counted by Service, deleted when no Service needs them.
 */
import { isHnsError } from '../../hns';
import { remoteEndpointDocument, type DesiredRemoteEndpoint } from '../core';
import { reportFailure, type SyncContext } from './context';
import type { EndpointIndex } from './facts';
import type { OwnedObjects } from './owned';
import { ownedIdFor } from './ownership';

export class RemoteEndpoints {
  /** Address → Services that need it, and the reverse. */
  private readonly refs = new Map<string, Set<string>>();
  private readonly byService = new Map<string, Set<string>>();

  constructor(
    private readonly ctx: SyncContext,
    private readonly owned: OwnedObjects,
    private readonly networkId: () => string,
    private readonly endpoints: () => EndpointIndex,
  ) {}

  /** Creates what the Service's plan needs and moves its references to exactly those addresses. */
  async require(service: string, wanted: readonly DesiredRemoteEndpoint[]): Promise<void> {
    const needed = new Set<string>();
    for (const r of wanted) {
      needed.add(r.ip);
      await this.ensure(r, service);
    }
    for (const ip of this.byService.get(service) ?? []) {
      if (needed.has(ip)) continue;
      const refs = this.refs.get(ip);
      refs?.delete(service);
      if (refs && refs.size === 0) this.refs.delete(ip);
    }
    for (const ip of needed) {
      let refs = this.refs.get(ip);
      if (!refs) this.refs.set(ip, (refs = new Set()));
      refs.add(service);
    }
    if (needed.size) this.byService.set(service, needed);
    else this.byService.delete(service);
  }

  private async ensure(r: DesiredRemoteEndpoint, service: string): Promise<void> {
    const index = this.endpoints();
    if (index.remote.has(r.ip)) return;
    const networkId = this.networkId();
    const identity = `remote:${networkId.toUpperCase()}:${r.ip}`;
    try {
      const created = await this.ctx.hns.createEndpoint(networkId, { ID: ownedIdFor(identity), ...remoteEndpointDocument(r, networkId) });
      index.remote.set(r.ip, created.ID!);
      this.owned.addRemoteEndpoint(created.ID!, r.ip);
      this.ctx.counters.remoteEndpointsCreated++;
    } catch (e) {
      const pa = r.providerAddress ? ` (provider address ${r.providerAddress})` : '';
      reportFailure(this.ctx, e, `creating the remote endpoint ${r.ip}${pa}`, service);
    }
  }

  /** Deletes owned remote endpoints no Service references any more. */
  async collect(): Promise<void> {
    for (const [id, ip] of [...this.owned.remoteEndpoints]) {
      if (this.refs.has(ip)) continue;
      try {
        await this.ctx.hns.deleteEndpoint(id);
        this.ctx.counters.remoteEndpointsDeleted++;
      } catch (e) {
        if (!isHnsError(e, 'not-found')) {
          reportFailure(this.ctx, e, `deleting the remote endpoint ${ip} (${id})`);
          continue;
        }
      }
      this.owned.dropRemoteEndpoint(id);
      const index = this.endpoints();
      if (index.remote.get(ip)?.toUpperCase() === id) index.remote.delete(ip);
    }
  }
}
