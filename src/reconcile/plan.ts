/**
 * Desired documents vs live ones → a plan of create / modify / delete steps, each with a reason. Pure: it
 * reads nothing but its arguments, so the same plan can be shown (dry run), logged, or applied.
 */
import type { HostComputeEndpoint } from '../hns/endpoint';
import type { HostComputeLoadBalancer } from '../hns/loadbalancer';
import type { HostComputeNamespace } from '../hns/namespace';
import type { NetworkPolicy, EndpointPolicy } from '../hns/policy';
import { isGuid } from '../hns/validate';
import { describePolicy, differingFields, holds, policyIdentity, sameString } from './compare';
import type {
  Conflict,
  DesiredEndpoint,
  DesiredLoadBalancer,
  DesiredNamespace,
  DesiredNetwork,
  DesiredState,
  LiveState,
  NamespaceRef,
  ObjectRef,
  Plan,
  PlannedObject,
  Step,
} from './types';

type Named = { ID?: string; Name?: string };

const sameId = (a: string | undefined, b: string | undefined) => !!a && !!b && sameString(a, b);
const isHostDefault = (ns: HostComputeNamespace) => String(ns.Type ?? '').toLowerCase() === 'hostdefault';

export const networkKey = (name: string) => `Network/${name}`;
export const endpointKey = (name: string) => `Endpoint/${name}`;

export function namespaceKey(doc: HostComputeNamespace): string {
  if (doc.Name) return `Namespace/${doc.Name}`;
  if (doc.ID) return `Namespace/${doc.ID.replace(/[{}]/g, '').toLowerCase()}`;
  return isHostDefault(doc) ? 'Namespace/HostDefault' : 'Namespace/(no identity)';
}

export function loadBalancerIdentity(lb: HostComputeLoadBalancer): string {
  const vips = [...(lb.FrontendVIPs ?? [])]
    .map((v) => v.toLowerCase())
    .sort()
    .join(',');
  const pm = lb.PortMappings?.[0];
  return `${vips}|${pm?.Protocol}|${pm?.ExternalPort}`;
}

export function loadBalancerKey(lb: HostComputeLoadBalancer): string {
  return `LoadBalancer/${lb.Name ?? loadBalancerIdentity(lb)}`;
}

/** Finds a referenced object: an existing one by ID or unique Name, else a desired one by Name. */
function resolveRef(ref: unknown, existing: Named[], desired: Map<string, string>, pendingOverride?: Set<string>): ObjectRef | undefined {
  if (typeof ref !== 'string' || ref === '') return undefined;
  if (pendingOverride?.has(ref)) return { pending: desired.get(ref)! };
  if (isGuid(ref)) {
    const byId = existing.find((o) => sameId(o.ID, ref));
    if (byId) return { id: byId.ID! };
  }
  const byName = existing.filter((o) => o.Name === ref);
  if (byName.length === 1) return { id: byName[0].ID! };
  const key = desired.get(ref);
  return key ? { pending: key } : undefined;
}

const refKey = (r: ObjectRef) => ('id' in r ? r.id.toLowerCase() : r.pending);

/** Policy steps that make `live` hold `want`; removes live policies of owned types that are not wanted. */
function policyChanges<P extends { Type?: unknown; Settings?: unknown }>(
  want: P[],
  live: P[],
  owned: readonly string[],
): { add: { p: P; reason: string }[]; remove: { p: P; reason: string }[] } {
  const ownedSet = new Set(owned.map((t) => t.toLowerCase()));
  const isOwned = (p: P) => ownedSet.has(String(p.Type ?? '').toLowerCase());
  const add: { p: P; reason: string }[] = [];
  const remove: { p: P; reason: string }[] = [];
  const wantIds = new Set(want.map(policyIdentity));
  // Indexed by identity: a node with hundreds of peers compares each desired route with its namesake only.
  const byIdentity = new Map<string, P[]>();
  for (const l of live) {
    const id = policyIdentity(l);
    byIdentity.set(id, [...(byIdentity.get(id) ?? []), l]);
  }
  for (const w of want) {
    const same = byIdentity.get(policyIdentity(w)) ?? [];
    if (same.some((l) => holds(w, l))) continue;
    // Types identified by all their settings may still be held by a live policy with more fields.
    if (same.length === 0 && live.some((l) => holds(w, l))) continue;
    if (same.length > 0 && isOwned(w)) {
      for (const l of same)
        remove.push({
          p: l,
          reason: `${describePolicy(w)} differs: ${differingFields((w.Settings ?? {}) as object, (l.Settings ?? {}) as object).join(', ') || 'settings'}`,
        });
      add.push({ p: w, reason: `${describePolicy(w)} differs` });
    } else {
      add.push({ p: w, reason: `${describePolicy(w)} missing` });
    }
  }
  for (const l of live) {
    if (isOwned(l) && !wantIds.has(policyIdentity(l)) && !remove.some((r) => r.p === l))
      remove.push({ p: l, reason: `${describePolicy(l)} not desired` });
  }
  return { add, remove };
}

export function plan(desired: DesiredState, live: LiveState): Plan {
  const steps: { networks: Step[]; deletes: Step[]; endpoints: Step[]; namespaces: Step[]; attaches: Step[]; lbs: Step[] } = {
    networks: [],
    deletes: [],
    endpoints: [],
    namespaces: [],
    attaches: [],
    lbs: [],
  };
  const conflicts: Conflict[] = [];
  const problems: string[] = [];
  const objects: PlannedObject[] = [];

  const desiredNetworks = new Map<string, string>();
  // A desired object is referred to by its Name, or by the ID it is to be created with (list output carries both).
  for (const n of desired.networks ?? []) {
    if (n.doc.Name) desiredNetworks.set(n.doc.Name, networkKey(n.doc.Name));
    if (n.doc.Name && n.doc.ID) desiredNetworks.set(n.doc.ID, networkKey(n.doc.Name));
  }
  const desiredEndpoints = new Map<string, string>();
  for (const e of desired.endpoints ?? []) {
    if (e.doc.Name) desiredEndpoints.set(e.doc.Name, endpointKey(e.doc.Name));
    if (e.doc.Name && e.doc.ID) desiredEndpoints.set(e.doc.ID, endpointKey(e.doc.Name));
  }
  const desiredNamespaces = new Map<string, string>();
  for (const n of desired.namespaces ?? []) {
    const key = namespaceKey(n.doc);
    if (n.doc.Name) desiredNamespaces.set(n.doc.Name, key);
    if (n.doc.ID) desiredNamespaces.set(n.doc.ID, key);
  }
  /** Endpoints this plan deletes and creates again: references to them are to the new one. */
  const replaced = new Set<string>();
  /** Namespace ID of each endpoint attachment already in place or planned, to plan each pair once. */
  const attached = new Set<string>();
  const liveAttached = (ns: HostComputeNamespace, epId: string) =>
    (ns.Resources ?? []).some((r) => String(r.Type).toLowerCase() === 'endpoint' && sameId(String(r.Data?.ID ?? r.Data?.Id ?? ''), epId));

  // ---- networks
  for (const d of desired.networks ?? []) planNetwork(d);
  function planNetwork(d: DesiredNetwork): void {
    const name = d.doc.Name!;
    const key = networkKey(name);
    const existing = live.networks.find((n) => n.Name === name);
    objects.push({ kind: 'Network', key, existing });
    if (!existing) {
      steps.networks.push({ op: 'create', kind: 'Network', key, reason: `network ${name} missing`, doc: d.doc });
      return;
    }
    const { Policies, ...rest } = d.doc;
    const fields = differingFields(rest, existing);
    if (fields.length > 0) {
      conflicts.push({ kind: 'Network', key, name, id: existing.ID, fields });
      return;
    }
    const ch = policyChanges<NetworkPolicy>(Policies ?? [], existing.Policies ?? [], d.ownedPolicyTypes ?? []);
    for (const r of ch.remove)
      steps.networks.push({
        op: 'modify',
        kind: 'Network',
        key,
        target: existing.ID!,
        reason: r.reason,
        change: { policies: 'Remove', list: [r.p] },
      });
    if (ch.add.length > 0) {
      steps.networks.push({
        op: 'modify',
        kind: 'Network',
        key,
        target: existing.ID!,
        reason: ch.add.map((a) => a.reason).join('; '),
        change: { policies: 'Add', list: ch.add.map((a) => a.p) },
      });
    }
  }

  // ---- namespaces are resolved before endpoints so attachments can name them
  function resolveNamespace(ref: NamespaceRef): ObjectRef | undefined {
    if ('hostDefault' in ref) {
      const hd = live.namespaces.find(isHostDefault);
      if (hd) return { id: hd.ID! };
      const d = (desired.namespaces ?? []).find((n) => !n.doc.Name && !n.doc.ID && isHostDefault(n.doc));
      return d ? { pending: namespaceKey(d.doc) } : undefined;
    }
    if (desiredNamespaces.has(ref.ref)) {
      const d = (desired.namespaces ?? []).find((n) => namespaceKey(n.doc) === desiredNamespaces.get(ref.ref))!;
      const ex = existingNamespace(d.doc);
      return ex ? { id: ex.ID! } : { pending: namespaceKey(d.doc) };
    }
    return resolveRef(ref.ref, live.namespaces, new Map());
  }
  function existingNamespace(doc: HostComputeNamespace): HostComputeNamespace | undefined {
    if (doc.Name) return live.namespaces.find((n) => n.Name === doc.Name);
    if (doc.ID) {
      const byId = live.namespaces.find((n) => sameId(n.ID, doc.ID));
      if (byId || !isHostDefault(doc)) return byId;
    }
    return isHostDefault(doc) ? live.namespaces.find(isHostDefault) : undefined;
  }

  // ---- endpoints
  for (const d of desired.endpoints ?? []) planEndpoint(d);
  function planEndpoint(d: DesiredEndpoint): void {
    const name = d.doc.Name!;
    const key = endpointKey(name);
    const network = resolveRef(d.doc.HostComputeNetwork, live.networks, desiredNetworks);
    if (!network) {
      problems.push(
        `${key}: HostComputeNetwork: ${d.doc.HostComputeNetwork === undefined ? 'is required: the name or ID of the network' : `no network named or with ID "${d.doc.HostComputeNetwork}" exists or is desired`}`,
      );
      return;
    }
    const existing = live.endpoints.find((e) => e.Name === name);
    objects.push({ kind: 'Endpoint', key, existing });
    const { HostComputeNamespace: _ns, HostComputeNetwork: _net, Policies, ...bare } = d.doc;
    const createDoc: HostComputeEndpoint = { ...bare, ...(Policies ? { Policies } : {}) };
    let attachTarget: ObjectRef | undefined;
    if (d.attachTo) {
      attachTarget = resolveNamespace(d.attachTo);
      if (!attachTarget) {
        problems.push(
          `${key}: ${'hostDefault' in d.attachTo ? "the host's HostDefault namespace is not reported by this data plane" : `HostComputeNamespace: no namespace with ID or name "${d.attachTo.ref}" exists or is desired`}`,
        );
        return;
      }
    }
    const planAttach = (ep: ObjectRef, reason: string) => {
      if (!attachTarget) return;
      const pair = `${refKey(attachTarget)}|${refKey(ep)}`;
      if (attached.has(pair)) return;
      attached.add(pair);
      steps.attaches.push({
        op: 'modify',
        kind: 'Namespace',
        key: 'id' in attachTarget ? `Namespace/${attachTarget.id.toLowerCase()}` : attachTarget.pending,
        target: attachTarget,
        change: { attach: ep },
        reason,
      });
    };
    if (!existing) {
      steps.endpoints.push({ op: 'create', kind: 'Endpoint', key, reason: `endpoint ${name} missing`, doc: createDoc, network });
      planAttach({ pending: key }, `endpoint ${name} not attached to its namespace`);
      return;
    }
    const fields = differingFields(bare, existing, ['ID']);
    if (d.doc.ID && !sameId(d.doc.ID, existing.ID)) fields.push('ID');
    if ('id' in network ? !sameId(existing.HostComputeNetwork, network.id) : true) fields.push('HostComputeNetwork');
    let attachedElsewhere = false;
    if (
      attachTarget &&
      existing.HostComputeNamespace &&
      !('id' in attachTarget && sameId(existing.HostComputeNamespace, attachTarget.id))
    ) {
      attachedElsewhere = true;
      if (!d.replaceOnDrift) fields.push('HostComputeNamespace');
    }
    if (fields.length > 0 || attachedElsewhere) {
      if (!d.replaceOnDrift) {
        conflicts.push({ kind: 'Endpoint', key, name, id: existing.ID, fields });
        return;
      }
      replaced.add(name);
      steps.deletes.push({
        op: 'delete',
        kind: 'Endpoint',
        key,
        target: existing.ID!,
        attachedTo: existing.HostComputeNamespace,
        reason: `endpoint ${name} differs: ${(fields.length ? fields : ['HostComputeNamespace']).join(', ')}`,
      });
      steps.endpoints.push({ op: 'create', kind: 'Endpoint', key, reason: `endpoint ${name} replaced`, doc: createDoc, network });
      planAttach({ pending: key }, `endpoint ${name} not attached to its namespace`);
      return;
    }
    const ch = policyChanges<EndpointPolicy>(Policies ?? [], existing.Policies ?? [], []);
    if (ch.add.length > 0) {
      steps.endpoints.push({
        op: 'modify',
        kind: 'Endpoint',
        key,
        target: { id: existing.ID! },
        reason: ch.add.map((a) => a.reason).join('; '),
        change: { policies: 'Add', list: ch.add.map((a) => a.p) },
      });
    }
    if (attachTarget) {
      const nsLive = 'id' in attachTarget ? live.namespaces.find((n) => sameId(n.ID, attachTarget!.id)) : undefined;
      const already =
        sameId(existing.HostComputeNamespace, 'id' in attachTarget ? attachTarget.id : undefined) ||
        (nsLive !== undefined && liveAttached(nsLive, existing.ID!));
      if (already) attached.add(`${refKey(attachTarget)}|${refKey({ id: existing.ID! })}`);
      else planAttach({ id: existing.ID! }, `endpoint ${name} not attached to its namespace`);
    }
  }

  // ---- namespaces
  const endpointRef = (ref: unknown) => resolveRef(ref, live.endpoints, desiredEndpoints, new Set([...replaced].filter((n) => n === ref)));
  for (const d of desired.namespaces ?? []) planNamespace(d);
  function planNamespace(d: DesiredNamespace): void {
    const key = namespaceKey(d.doc);
    const existing = existingNamespace(d.doc);
    objects.push({ kind: 'Namespace', key, existing });
    const { Resources: _r, NamespaceId: _i, ...bare } = d.doc;
    let target: ObjectRef;
    if (!existing) {
      if (isHostDefault(d.doc)) {
        problems.push(`${key}: Type: HostDefault is the host's own namespace; this data plane reports none and it cannot be created`);
        return;
      }
      steps.namespaces.push({
        op: 'create',
        kind: 'Namespace',
        key,
        reason: `namespace ${d.doc.Name ?? d.doc.ID ?? ''} missing`.replace(/ +missing$/, ' missing'),
        doc: bare,
      });
      target = { pending: key };
    } else {
      // The host's HostDefault namespace found by its type has this host's ID and numbers, not the file's.
      const skip = d.doc.ID && !sameId(d.doc.ID, existing.ID) && isHostDefault(d.doc) ? ['ID', 'NamespaceGuid'] : [];
      const fields = differingFields(bare, existing, skip);
      if (fields.length > 0) {
        conflicts.push({ kind: 'Namespace', key, name: d.doc.Name, id: existing.ID, fields });
        return;
      }
      target = { id: existing.ID! };
    }
    (d.endpoints ?? []).forEach((ref, i) => {
      const ep = endpointRef(ref);
      if (!ep) {
        problems.push(`${key}: Resources[${i}].Data.ID: no endpoint named or with ID "${ref}" exists or is desired`);
        return;
      }
      const pair = `${refKey(target)}|${refKey(ep)}`;
      if (attached.has(pair)) return;
      if (existing && 'id' in ep && liveAttached(existing, ep.id)) return;
      attached.add(pair);
      steps.attaches.push({
        op: 'modify',
        kind: 'Namespace',
        key,
        target,
        change: { attach: ep },
        reason: `endpoint ${ref} not attached to namespace ${key.slice('Namespace/'.length)}`,
      });
    });
  }

  // ---- load balancers
  for (const d of desired.loadBalancers ?? []) planLoadBalancer(d);
  function planLoadBalancer(d: DesiredLoadBalancer): void {
    const key = loadBalancerKey(d.doc);
    const existing =
      d.doc.Name !== undefined
        ? live.loadBalancers.find((l) => l.Name === d.doc.Name)
        : live.loadBalancers.find((l) => !l.Name && loadBalancerIdentity(l) === loadBalancerIdentity(d.doc));
    objects.push({ kind: 'LoadBalancer', key, existing });
    const endpoints: ObjectRef[] = [];
    (d.doc.HostComputeEndpoints ?? []).forEach((ref, i) => {
      const ep = endpointRef(ref);
      if (!ep) problems.push(`${key}: HostComputeEndpoints[${i}]: no endpoint named or with ID "${String(ref)}" exists or is desired`);
      else endpoints.push(ep);
    });
    if (!existing) {
      steps.lbs.push({ op: 'create', kind: 'LoadBalancer', key, reason: `load balancer ${key.slice(13)} missing`, doc: d.doc, endpoints });
      return;
    }
    const resolved = endpoints.every((e) => 'id' in e)
      ? { ...d.doc, HostComputeEndpoints: endpoints.map((e) => (e as { id: string }).id) }
      : undefined;
    if (resolved && holds(resolved, existing)) return;
    const fields = resolved ? differingFields(resolved, existing) : ['HostComputeEndpoints'];
    steps.lbs.push({
      op: 'modify',
      kind: 'LoadBalancer',
      key,
      target: existing.ID!,
      reason: `load balancer ${key.slice(13)} differs: ${fields.join(', ')}`,
      doc: d.doc,
      endpoints,
    });
  }

  return {
    steps: [...steps.networks, ...steps.deletes, ...steps.endpoints, ...steps.namespaces, ...steps.attaches, ...steps.lbs],
    conflicts,
    problems,
    objects,
  };
}

/** One line per step, for logs and dry runs: `modify Network/cbr0: RemoteSubnetRoute 10.244.3.0/24 missing`. */
export function describeStep(s: Step): string {
  return `${s.op} ${s.key}: ${s.reason}`;
}

export function describeConflict(c: Conflict): string {
  const what = c.kind === 'LoadBalancer' ? 'load balancer' : c.kind.toLowerCase();
  return `${what} "${c.name ?? c.key.slice(c.kind.length + 1)}" already exists (${c.id}) with different ${c.fields.join(', ')}`;
}
