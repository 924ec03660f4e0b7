/**
 * `switchyard apply -f FILE`: make the host hold the HCN objects a file describes, idempotently by Name.
 *
 * The file is JSON or YAML: one document, several YAML documents (---), or a list. The kind of each document
 * comes from its fields or from a `Kind:` key (Network, Endpoint, Namespace, LoadBalancer; not sent to HNS).
 * References may use names: an endpoint's `HostComputeNetwork`, a load balancer's `HostComputeEndpoints`, a
 * namespace's `Resources[].Data.ID` — resolved against the host and the other documents of the file.
 *
 * Two passes: everything is parsed, validated, resolved and compared first (any problem → UsageError, nothing
 * changed); then networks, endpoints, namespaces and load balancers are created in that order. If HNS fails
 * half-way, the objects this run created are deleted again.
 *
 * An existing object with the same Name is `unchanged` when it already holds every field the file gives
 * (HNS adds fields of its own: IDs, ProviderAddress/DrMacAddress policies, ...). Otherwise: a network that only
 * lacks policies gets them added (HcnModifyNetwork), a namespace that lacks endpoints gets them attached,
 * a load balancer is updated in place (HcnModifyLoadBalancer) — all `configured`; any other difference is
 * refused, naming the fields, because HNS cannot change them in place.
 */
import type { HostNetworkService } from '../dataplane/types';
import type { HostComputeNetwork } from '../hns/network';
import type { HostComputeEndpoint } from '../hns/endpoint';
import type { HostComputeNamespace } from '../hns/namespace';
import type { HostComputeLoadBalancer } from '../hns/loadbalancer';
import type { NetworkPolicy } from '../hns/policy';
import { parseHnsJson } from '../hns/json';
import { parseDocument, HcnParseError, type HcnKind } from '../hns/parse';
import {
  validateNetwork, validateEndpoint, validateNamespace, validateLoadBalancer, formatIssue, isGuid, isMac, isIp,
  type ValidationIssue,
} from '../hns/validate';
import { networkPolicyRequest } from '../hns/modify';
import { SCHEMA_V2 } from '../hns/schema';
import { UsageError } from './errors';

export type ApplyResult = 'created' | 'unchanged' | 'configured';

export interface ApplyOutcome {
  Kind: HcnKind;
  Result: ApplyResult;
  Document: HostComputeNetwork | HostComputeEndpoint | HostComputeNamespace | HostComputeLoadBalancer;
}

interface SourceDoc { source: string; value: unknown }

/** JSON (bigint-safe) or YAML (multi-document); lists are flattened. */
export function readDocuments(text: string, file: string): SourceDoc[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new UsageError(`${file}: the file is empty: give HCN documents in JSON or YAML`);
  let values: unknown[];
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      values = [parseHnsJson(trimmed)];
    } catch (e) {
      throw new UsageError(`${file}: not valid JSON (${(e as Error).message})`);
    }
  } else {
    const YAML = require('yaml') as typeof import('yaml');
    const docs = YAML.parseAllDocuments(text, { prettyErrors: true });
    const list = Array.isArray(docs) ? docs : [docs];
    for (const d of list) {
      const err = d.errors[0];
      if (err) throw new UsageError(`${file}: not valid YAML: ${err.message.split('\n')[0]}`);
    }
    values = list.map((d) => d.toJS()).filter((v) => v !== null && v !== undefined);
  }
  const out: SourceDoc[] = [];
  for (const v of values) for (const item of Array.isArray(v) ? v : [v]) out.push({ source: `${file} document #${out.length + 1}`, value: item });
  if (out.length === 0) throw new UsageError(`${file}: no documents found`);
  return out;
}

// ---- comparison ----------------------------------------------------------------------------------------

const IGNORED_KEYS = new Set(['SchemaVersion', 'Version', 'Health', 'State']);

function sameString(a: string, b: string): boolean {
  if (a === b) return true;
  if (isGuid(a) && isGuid(b)) return a.replace(/[{}]/g, '').toLowerCase() === b.replace(/[{}]/g, '').toLowerCase();
  if (isMac(a) && isMac(b)) return a.replace(/:/g, '-').toLowerCase() === b.replace(/:/g, '-').toLowerCase();
  if (isIp(a) && isIp(b)) {
    const ipaddr = require('ipaddr.js') as typeof import('ipaddr.js');
    return ipaddr.parse(a).toString() === ipaddr.parse(b).toString();
  }
  return false;
}

const isPrimitive = (v: unknown) => v === null || typeof v !== 'object';

/** Does `have` (from HNS) hold everything `want` (from the file) says? */
export function holds(want: unknown, have: unknown): boolean {
  if (want === undefined) return true;
  if (typeof want === 'string') return typeof have === 'string' && sameString(want, have);
  if (typeof want === 'number' || typeof want === 'bigint') {
    return (typeof have === 'number' || typeof have === 'bigint') && (Number.isInteger(Number(want)) && Number.isInteger(Number(have)) ? BigInt(want) === BigInt(have) : Number(want) === Number(have));
  }
  if (typeof want === 'boolean' || want === null) return want === have;
  if (Array.isArray(want)) {
    if (!Array.isArray(have)) return want.length === 0 && have === undefined;
    // Lists of values (VIPs, endpoint IDs, DNS servers) are sets; lists of objects (policies, subnets) may
    // hold more than the file says, because HNS adds its own.
    if (want.every(isPrimitive) && have.every(isPrimitive)) return want.length === have.length && want.every((w) => have.some((h) => holds(w, h))) && have.every((h) => want.some((w) => holds(w, h)));
    return want.every((w) => have.some((h) => holds(w, h)));
  }
  if (typeof want === 'object') {
    if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
    return Object.entries(want as Record<string, unknown>).every(([k, v]) => IGNORED_KEYS.has(k) || holds(v, (have as Record<string, unknown>)[k]));
  }
  return false;
}

function differingFields(want: Record<string, unknown>, have: Record<string, unknown>): string[] {
  return Object.keys(want).filter((k) => !IGNORED_KEYS.has(k) && !holds(want[k], have[k]));
}

// ---- planning ------------------------------------------------------------------------------------------

interface Ref { id?: string; pending?: string } // an existing object's ID, or the Name of one this file creates

type Step =
  | { kind: 'Network'; source: string; doc: HostComputeNetwork; existing?: HostComputeNetwork; addPolicies: NetworkPolicy[] }
  | { kind: 'Endpoint'; source: string; doc: HostComputeEndpoint; existing?: HostComputeEndpoint; network: Ref }
  | { kind: 'Namespace'; source: string; doc: HostComputeNamespace; existing?: HostComputeNamespace; endpoints: Ref[] }
  | { kind: 'LoadBalancer'; source: string; doc: HostComputeLoadBalancer; existing?: HostComputeLoadBalancer; endpoints: Ref[] };

const KIND_ORDER: HcnKind[] = ['Network', 'Endpoint', 'Namespace', 'LoadBalancer'];
/** Stands in for IDs of objects this file creates, so their documents can be validated before they exist. */
const PLACEHOLDER_ID = '00000000-0000-0000-0000-000000000001';

interface Snapshot {
  networks: HostComputeNetwork[];
  endpoints: HostComputeEndpoint[];
  namespaces: HostComputeNamespace[];
  loadBalancers: HostComputeLoadBalancer[];
}

function findRef(ref: unknown, existing: { ID?: string; Name?: string }[], inFile: Set<string>): Ref | undefined {
  if (typeof ref !== 'string' || ref === '') return undefined;
  const byId = isGuid(ref) ? existing.find((o) => o.ID && sameString(o.ID, ref)) : undefined;
  if (byId) return { id: byId.ID };
  // An object the file names that already exists is reused as is (apply leaves it unchanged or fails).
  const byName = existing.filter((o) => o.Name === ref);
  if (byName.length === 1) return { id: byName[0].ID };
  if (inFile.has(ref)) return { pending: ref };
  return undefined;
}

const refId = (r: Ref) => r.id ?? PLACEHOLDER_ID;

function lbKey(lb: HostComputeLoadBalancer): string {
  const vips = [...(lb.FrontendVIPs ?? [])].map((v) => v.toLowerCase()).sort().join(',');
  const pm = lb.PortMappings?.[0];
  return `${vips}|${pm?.Protocol}|${pm?.ExternalPort}`;
}

export async function planApply(svc: HostNetworkService, sources: SourceDoc[]): Promise<Step[]> {
  const problems: string[] = [];
  const report = (source: string, issues: ValidationIssue[]) => issues.forEach((i) => problems.push(`${source}: ${formatIssue(i)}`));
  const parsed: { kind: HcnKind; source: string; doc: Record<string, unknown> }[] = [];
  for (const s of sources) {
    try {
      const { kind, doc } = parseDocument(s.value, s.source);
      parsed.push({ kind, source: s.source, doc: doc as Record<string, unknown> });
    } catch (e) {
      if (e instanceof HcnParseError) problems.push(e.message);
      else throw e;
    }
  }
  const names: Record<HcnKind, Set<string>> = { Network: new Set(), Endpoint: new Set(), Namespace: new Set(), LoadBalancer: new Set() };
  for (const p of parsed) {
    const name = p.doc.Name;
    if (typeof name !== 'string' || name === '') {
      if (p.kind !== 'LoadBalancer') problems.push(`${p.source}: Name: is required so apply can find the ${p.kind.toLowerCase()} again`);
      continue;
    }
    if (names[p.kind].has(name)) problems.push(`${p.source}: Name: a second ${p.kind} named "${name}" in this file`);
    names[p.kind].add(name);
  }
  const snap: Snapshot = {
    networks: await svc.listNetworks(),
    endpoints: await svc.listEndpoints(),
    namespaces: await svc.listNamespaces(),
    loadBalancers: await svc.listLoadBalancers(),
  };
  const steps: Step[] = [];
  for (const kind of KIND_ORDER) {
    for (const p of parsed.filter((x) => x.kind === kind)) {
      const step = planOne(p.kind, p.source, p.doc, snap, names, problems, report);
      if (step) steps.push(step);
    }
  }
  if (problems.length > 0) throw new UsageError(`apply: nothing was changed:\n  ${problems.join('\n  ')}`);
  return steps;
}

function planOne(
  kind: HcnKind, source: string, doc: Record<string, unknown>, snap: Snapshot, names: Record<HcnKind, Set<string>>,
  problems: string[], report: (source: string, issues: ValidationIssue[]) => void,
): Step | undefined {
  const conflict = (existing: { ID?: string }, fields: string[], what: string) =>
    problems.push(`${source}: ${what} "${doc.Name}" already exists (${existing.ID}) with different ${fields.join(', ')}: HNS cannot change that in place; delete it first or use another Name`);
  const withSchema = <T extends object>(d: T): T => ({ ...d, SchemaVersion: (d as { SchemaVersion?: unknown }).SchemaVersion ?? { ...SCHEMA_V2 } });

  if (kind === 'Network') {
    const net = withSchema(doc as HostComputeNetwork);
    const issues = validateNetwork(net, { create: true });
    report(source, issues);
    const existing = snap.networks.find((n) => n.Name === net.Name);
    if (!existing) return { kind, source, doc: net, addPolicies: [] };
    const { Policies, ...rest } = net;
    const fields = differingFields(rest as Record<string, unknown>, existing as Record<string, unknown>);
    if (fields.length > 0) return void conflict(existing, fields, 'network');
    const addPolicies = (Policies ?? []).filter((p) => !(existing.Policies ?? []).some((h) => holds(p, h)));
    return { kind, source, doc: net, existing, addPolicies };
  }

  if (kind === 'Endpoint') {
    const ep = withSchema(doc as HostComputeEndpoint);
    const network = findRef(ep.HostComputeNetwork, snap.networks, names.Network);
    if (!network) {
      problems.push(`${source}: HostComputeNetwork: ${ep.HostComputeNetwork === undefined ? 'is required: the name or ID of the network' : `no network named or with ID "${ep.HostComputeNetwork}" exists or is defined in this file`}`);
      return undefined;
    }
    report(source, validateEndpoint({ ...ep, HostComputeNetwork: refId(network) }, { create: true }));
    const existing = snap.endpoints.find((e) => e.Name === ep.Name);
    if (existing) {
      const fields = differingFields({ ...ep, HostComputeNetwork: network.id ?? `(network ${network.pending}, not created yet)` }, existing as Record<string, unknown>);
      if (fields.length > 0) return void conflict(existing, fields, 'endpoint');
    }
    return { kind, source, doc: ep, existing, network };
  }

  if (kind === 'Namespace') {
    const ns = withSchema(doc as HostComputeNamespace);
    const endpoints: Ref[] = [];
    (ns.Resources ?? []).forEach((r, i) => {
      if (r?.Type !== 'Endpoint') {
        problems.push(`${source}: Resources[${i}].Type: apply attaches endpoints only: use "Endpoint"`);
        return;
      }
      const id = r.Data?.ID ?? r.Data?.Id;
      const ref = findRef(id, snap.endpoints, names.Endpoint);
      if (!ref) problems.push(`${source}: Resources[${i}].Data.ID: no endpoint named or with ID "${String(id)}" exists or is defined in this file`);
      else endpoints.push(ref);
    });
    const { Resources: _r, ...bare } = ns;
    report(source, validateNamespace({ ...bare, Resources: endpoints.map((e) => ({ Type: 'Endpoint', Data: { ID: refId(e) } })) }, { create: true }));
    const existing = snap.namespaces.find((n) => n.Name === ns.Name);
    if (existing) {
      const fields = differingFields(bare as Record<string, unknown>, existing as Record<string, unknown>);
      if (fields.length > 0) return void conflict(existing, fields, 'namespace');
    }
    return { kind, source, doc: bare, existing, endpoints };
  }

  const lb = withSchema(doc as HostComputeLoadBalancer);
  const endpoints: Ref[] = [];
  (lb.HostComputeEndpoints ?? []).forEach((id, i) => {
    const ref = findRef(id, snap.endpoints, names.Endpoint);
    if (!ref) problems.push(`${source}: HostComputeEndpoints[${i}]: no endpoint named or with ID "${String(id)}" exists or is defined in this file`);
    else endpoints.push(ref);
  });
  report(source, validateLoadBalancer({ ...lb, HostComputeEndpoints: endpoints.map((e, i) => (e.id ?? `00000000-0000-0000-0000-${String(i + 2).padStart(12, '0')}`)) }, { create: true }));
  const existing = lb.Name !== undefined ? snap.loadBalancers.find((l) => l.Name === lb.Name) : snap.loadBalancers.find((l) => !l.Name && lbKey(l) === lbKey(lb));
  return { kind: 'LoadBalancer', source, doc: lb, existing, endpoints };
}

// ---- execution -----------------------------------------------------------------------------------------

export async function executeApply(svc: HostNetworkService, steps: Step[]): Promise<ApplyOutcome[]> {
  const created: { kind: HcnKind; id: string }[] = [];
  const ids: Record<string, string> = {}; // `${kind}/${name}` → ID of objects created by this run
  const idOf = (kind: HcnKind, r: Ref) => r.id ?? ids[`${kind}/${r.pending}`];
  const out: ApplyOutcome[] = [];
  try {
    for (const step of steps) {
      if (step.kind === 'Network') {
        if (!step.existing) {
          const n = await svc.createNetwork(step.doc);
          created.push({ kind: 'Network', id: n.ID! });
          ids[`Network/${step.doc.Name}`] = n.ID!;
          out.push({ Kind: 'Network', Result: 'created', Document: n });
        } else if (step.addPolicies.length > 0) {
          out.push({ Kind: 'Network', Result: 'configured', Document: await svc.modifyNetwork(step.existing.ID!, networkPolicyRequest('Add', step.addPolicies)) });
        } else {
          out.push({ Kind: 'Network', Result: 'unchanged', Document: step.existing });
        }
      } else if (step.kind === 'Endpoint') {
        if (step.existing) {
          out.push({ Kind: 'Endpoint', Result: 'unchanged', Document: step.existing });
          continue;
        }
        const networkId = idOf('Network', step.network);
        const e = await svc.createEndpoint(networkId, { ...step.doc, HostComputeNetwork: networkId });
        created.push({ kind: 'Endpoint', id: e.ID! });
        ids[`Endpoint/${step.doc.Name}`] = e.ID!;
        out.push({ Kind: 'Endpoint', Result: 'created', Document: e });
      } else if (step.kind === 'Namespace') {
        let ns = step.existing;
        let result: ApplyResult = 'unchanged';
        if (!ns) {
          ns = await svc.createNamespace(step.doc);
          created.push({ kind: 'Namespace', id: ns.ID! });
          result = 'created';
        }
        const attached = new Set((ns.Resources ?? []).map((r) => String(r.Data?.ID ?? r.Data?.Id ?? '').toLowerCase()));
        for (const ref of step.endpoints) {
          const epId = idOf('Endpoint', ref);
          if (attached.has(epId.toLowerCase())) continue;
          await svc.attachEndpoint(ns.ID!, epId);
          if (result === 'unchanged') result = 'configured';
        }
        out.push({ Kind: 'Namespace', Result: result, Document: result === 'unchanged' ? ns : await svc.getNamespace(ns.ID!) });
      } else {
        const doc = { ...step.doc, HostComputeEndpoints: step.endpoints.map((r) => idOf('Endpoint', r)) };
        if (!step.existing) {
          const l = await svc.createLoadBalancer(doc);
          created.push({ kind: 'LoadBalancer', id: l.ID! });
          out.push({ Kind: 'LoadBalancer', Result: 'created', Document: l });
        } else if (holds(doc, step.existing)) {
          out.push({ Kind: 'LoadBalancer', Result: 'unchanged', Document: step.existing });
        } else {
          out.push({ Kind: 'LoadBalancer', Result: 'configured', Document: await svc.modifyLoadBalancer(step.existing.ID!, { ...doc, ID: step.existing.ID }) });
        }
      }
    }
  } catch (e) {
    await rollBack(svc, created);
    if (e instanceof Error && created.length > 0) e.message += ` (apply: deleted the ${created.length} object(s) this run had created)`;
    throw e;
  }
  return out;
}

async function rollBack(svc: HostNetworkService, created: { kind: HcnKind; id: string }[]): Promise<void> {
  for (const c of [...created].reverse()) {
    try {
      if (c.kind === 'LoadBalancer') await svc.deleteLoadBalancer(c.id);
      else if (c.kind === 'Namespace') await svc.deleteNamespace(c.id);
      else if (c.kind === 'Endpoint') await svc.deleteEndpoint(c.id);
      else await svc.deleteNetwork(c.id);
    } catch {
      // Best effort: the original failure is what the user needs to see.
    }
  }
}
