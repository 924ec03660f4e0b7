/**
 * The in-memory model of what the proxy has programmed: identity → HNS load balancer (ID, Service, document),
 * indexed by Service so a Service's sync touches only its own load balancers.
 */
import type { HostComputeLoadBalancer } from '../../hns';

export interface Programmed {
  id: string;
  service: string;
  doc: HostComputeLoadBalancer;
}

export class ProgrammedModel {
  private readonly byIdentity = new Map<string, Programmed>();
  private readonly byService = new Map<string, Set<string>>();
  /** Upper-case HNS IDs in the model (adoption must not take one LB for two identities). */
  private readonly ids = new Set<string>();

  get size(): number {
    return this.byIdentity.size;
  }

  get(identity: string): Programmed | undefined {
    return this.byIdentity.get(identity);
  }

  has(identity: string): boolean {
    return this.byIdentity.has(identity);
  }

  hasId(id: string): boolean {
    return this.ids.has(id.toUpperCase());
  }

  values(): IterableIterator<Programmed> {
    return this.byIdentity.values();
  }

  entries(): IterableIterator<[string, Programmed]> {
    return this.byIdentity.entries();
  }

  /** The identities programmed for a Service (a copy: callers untrack while iterating). */
  identitiesOf(service: string): string[] {
    return [...(this.byService.get(service) ?? [])];
  }

  services(): IterableIterator<string> {
    return this.byService.keys();
  }

  clear(): void {
    this.byIdentity.clear();
    this.byService.clear();
    this.ids.clear();
  }

  track(identity: string, p: Programmed): void {
    const old = this.byIdentity.get(identity);
    if (old) this.ids.delete(old.id.toUpperCase());
    this.byIdentity.set(identity, p);
    this.ids.add(p.id.toUpperCase());
    let set = this.byService.get(p.service);
    if (!set) this.byService.set(p.service, (set = new Set()));
    set.add(identity);
  }

  untrack(identity: string): void {
    const p = this.byIdentity.get(identity);
    if (!p) return;
    this.byIdentity.delete(identity);
    this.ids.delete(p.id.toUpperCase());
    const set = this.byService.get(p.service);
    set?.delete(identity);
    if (set && set.size === 0) this.byService.delete(p.service);
  }
}
