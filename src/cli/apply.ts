/**
 * `switchyard apply -f FILE`: make the host hold the HCN objects a file describes, idempotently by Name.
 *
 * The comparison, the plan and its execution with rollback are the reconciler's (src/reconcile); this module
 * reads the file, validates every document and resolves its references first, so bad input changes nothing.
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
 * Identity: Name; a namespace (HCN gives them no name) may instead be found by its ID, and a HostDefault
 * namespace without either is the host's own. `-o json` output of list/get feeds back in: an endpoint's
 * read-only HostComputeNamespace becomes an attachment.
 *
 * An existing object with the same identity is `unchanged` when it already holds every field the file gives
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
import { parseHnsJson } from '../hns/json';
import { parseDocument, HcnParseError, type HcnKind } from '../hns/parse';
import {
  validateNetwork,
  validateEndpoint,
  validateNamespace,
  validateLoadBalancer,
  formatIssue,
  isGuid,
  type ValidationIssue,
} from '../hns/validate';
import { SCHEMA_V2 } from '../hns/schema';
import {
  plan,
  applyPlan,
  namespaceKey,
  loadBalancerKey,
  networkKey,
  endpointKey,
  describeConflict,
  type DesiredState,
  type Plan,
  type ObjectResult,
  readLive,
} from '../reconcile';
import { jsonDepthExceeds } from '../cni/protocol/skel';
import { UsageError } from './errors';

export { holds } from '../reconcile';

export type ApplyResult = ObjectResult;

export interface ApplyOutcome {
  Kind: HcnKind;
  Result: ApplyResult;
  Document: HostComputeNetwork | HostComputeEndpoint | HostComputeNamespace | HostComputeLoadBalancer;
}

interface SourceDoc {
  source: string;
  value: unknown;
}

/** Longest object name accepted; HNS itself stores names of a few hundred characters at most. */
export const NAME_LIMIT = 256;

/**
 * Names are printed in tables and logs: control characters (newlines, terminal escapes) are refused at
 * input, with the field named and the value not echoed.
 */
export function checkName(doc: unknown, source: string): void {
  if (!doc || typeof doc !== 'object') return;
  const name = (doc as { Name?: unknown }).Name;
  if (name === undefined) return;
  if (typeof name !== 'string') throw new UsageError(`${source}: Name must be a string`);
  if (name.length > NAME_LIMIT) throw new UsageError(`${source}: Name is longer than ${NAME_LIMIT} characters`);
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) throw new UsageError(`${source}: Name contains control characters (newline, escape, …)`);
}

/** JSON (bigint-safe) or YAML (multi-document); lists are flattened. */
export function readDocuments(text: string, file: string): SourceDoc[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new UsageError(`${file}: the file is empty: give HCN documents in JSON or YAML`);
  let values: unknown[];
  if (jsonDepthExceeds(trimmed, 64)) throw new UsageError(`${file}: nesting deeper than 64 levels`);
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
      // An unknown tag (`Type: !custom L2Bridge`) would be dropped silently by the parser: refuse it.
      const tag = d.warnings.find((w) => /tag/i.test(w.message));
      if (tag) throw new UsageError(`${file}: not valid YAML: ${tag.message.split('\n')[0]}`);
    }
    try {
      // maxAliasCount bounds alias expansion (a "billion laughs" document).
      values = list.map((d) => d.toJS({ maxAliasCount: 100 })).filter((v) => v !== null && v !== undefined);
    } catch (e) {
      throw new UsageError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const out: SourceDoc[] = [];
  for (const v of values)
    for (const item of Array.isArray(v) ? v : [v]) {
      const source = `${file} document #${out.length + 1}`;
      checkName(item, source);
      out.push({ source, value: item });
    }
  if (out.length === 0) throw new UsageError(`${file}: no documents found`);
  return out;
}

// ---- planning ------------------------------------------------------------------------------------------

/** Stands in for IDs of objects this file creates, so their documents can be validated before they exist. */
const PLACEHOLDER_ID = '00000000-0000-0000-0000-000000000001';
const KIND_ORDER: HcnKind[] = ['Network', 'Endpoint', 'Namespace', 'LoadBalancer'];

export interface ApplyPlan {
  plan: Plan;
  /** Each document's key, in file order per kind, with where it came from. */
  documents: { kind: HcnKind; key: string; source: string }[];
}

type Named = { ID?: string; Name?: string };

function exists(ref: unknown, existing: Named[], inFile: Set<string>): boolean {
  if (typeof ref !== 'string' || ref === '') return false;
  const plain = ref.replace(/^\{|\}$/g, '').toLowerCase();
  if (isGuid(ref) && existing.some((o) => o.ID?.toLowerCase() === plain)) return true;
  return existing.filter((o) => o.Name === ref).length === 1 || inFile.has(ref);
}

const isHostDefault = (doc: { Type?: unknown }) => String(doc.Type ?? '').toLowerCase() === 'hostdefault';

export async function planApply(svc: HostNetworkService, sources: SourceDoc[]): Promise<ApplyPlan> {
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
  const keys = new Set<string>();
  for (const p of parsed) {
    const name = p.doc.Name;
    if (typeof p.doc.ID === 'string' && p.doc.ID !== '') names[p.kind].add(p.doc.ID);
    if (typeof name === 'string' && name !== '') {
      if (names[p.kind].has(name)) problems.push(`${p.source}: Name: a second ${p.kind} named "${name}" in this file`);
      names[p.kind].add(name);
    } else if (p.kind === 'Namespace') {
      const id = p.doc.ID;
      if (typeof id === 'string' && id !== '') names.Namespace.add(id);
      else if (!isHostDefault(p.doc)) problems.push(`${p.source}: Name: a namespace needs a Name or an ID so apply can find it again`);
      const key = namespaceKey(p.doc as HostComputeNamespace);
      if (keys.has(key)) problems.push(`${p.source}: ID: a second namespace ${key.slice(10)} in this file`);
      keys.add(key);
    } else if (p.kind !== 'LoadBalancer') {
      problems.push(`${p.source}: Name: is required so apply can find the ${p.kind.toLowerCase()} again`);
    }
  }
  const live = await readLive(svc);
  const desired: Required<DesiredState> = { networks: [], endpoints: [], namespaces: [], loadBalancers: [] };
  const documents: ApplyPlan['documents'] = [];
  const withSchema = <T extends object>(d: T): T => ({
    ...d,
    SchemaVersion: (d as { SchemaVersion?: unknown }).SchemaVersion ?? { ...SCHEMA_V2 },
  });
  const refId = (ref: unknown, existing: Named[]) => {
    const plain = String(ref)
      .replace(/^\{|\}$/g, '')
      .toLowerCase();
    return existing.find((o) => o.ID?.toLowerCase() === plain)?.ID ?? existing.find((o) => o.Name === ref)?.ID ?? PLACEHOLDER_ID;
  };

  for (const kind of KIND_ORDER) {
    for (const { source, doc } of parsed.filter((x) => x.kind === kind)) {
      if (kind === 'Network') {
        const net = withSchema(doc as HostComputeNetwork);
        report(source, validateNetwork(net, { create: !live.networks.some((n) => n.Name === net.Name) }));
        desired.networks.push({ doc: net });
        documents.push({ kind, source, key: networkKey(String(net.Name)) });
      } else if (kind === 'Endpoint') {
        const ep = withSchema(doc as HostComputeEndpoint);
        if (!exists(ep.HostComputeNetwork, live.networks, names.Network)) {
          problems.push(
            `${source}: HostComputeNetwork: ${ep.HostComputeNetwork === undefined ? 'is required: the name or ID of the network' : `no network named or with ID "${ep.HostComputeNetwork}" exists or is defined in this file`}`,
          );
          continue;
        }
        // Read-only on create: list/get output carries it; it means "attached to that namespace".
        const { HostComputeNamespace: ns, ...bare } = ep;
        if (ns !== undefined && !exists(ns, live.namespaces, names.Namespace)) {
          problems.push(`${source}: HostComputeNamespace: no namespace with ID "${ns}" exists or is defined in this file`);
          continue;
        }
        const isExisting = live.endpoints.some((e) => e.Name === ep.Name);
        report(
          source,
          validateEndpoint({ ...bare, HostComputeNetwork: refId(ep.HostComputeNetwork, live.networks) }, { create: !isExisting }),
        );
        desired.endpoints.push({ doc: bare, ...(ns ? { attachTo: { ref: ns } } : {}) });
        documents.push({ kind, source, key: endpointKey(String(ep.Name)) });
      } else if (kind === 'Namespace') {
        const ns = withSchema(doc as HostComputeNamespace);
        const endpoints: string[] = [];
        (ns.Resources ?? []).forEach((r, i) => {
          if (r?.Type !== 'Endpoint') {
            problems.push(`${source}: Resources[${i}].Type: apply attaches endpoints only: use "Endpoint"`);
            return;
          }
          const id = r.Data?.ID ?? r.Data?.Id;
          if (!exists(id, live.endpoints, names.Endpoint))
            problems.push(
              `${source}: Resources[${i}].Data.ID: no endpoint named or with ID "${String(id)}" exists or is defined in this file`,
            );
          else endpoints.push(String(id));
        });
        const { Resources: _r, ...bare } = ns;
        // The host's own namespace is never created, so only the create-time rules of other namespaces apply.
        if (!isHostDefault(ns))
          report(
            source,
            validateNamespace(
              { ...bare, Resources: endpoints.map((e) => ({ Type: 'Endpoint', Data: { ID: refId(e, live.endpoints) } })) },
              { create: true },
            ),
          );
        desired.namespaces.push({ doc: bare, endpoints });
        documents.push({ kind, source, key: namespaceKey(bare) });
      } else {
        const lb = withSchema(doc as HostComputeLoadBalancer);
        const refs = (lb.HostComputeEndpoints ?? []).map((id, i) => {
          if (!exists(id, live.endpoints, names.Endpoint))
            problems.push(
              `${source}: HostComputeEndpoints[${i}]: no endpoint named or with ID "${String(id)}" exists or is defined in this file`,
            );
          const found = refId(id, live.endpoints);
          return found === PLACEHOLDER_ID ? `00000000-0000-0000-0000-${String(i + 2).padStart(12, '0')}` : found;
        });
        report(source, validateLoadBalancer({ ...lb, HostComputeEndpoints: refs }, { create: true }));
        desired.loadBalancers.push({ doc: lb });
        documents.push({ kind, source, key: loadBalancerKey(lb) });
      }
    }
  }
  if (problems.length > 0) throw new UsageError(`apply: nothing was changed:\n  ${problems.join('\n  ')}`);
  const p = plan(desired, live);
  const sourceOf = (key: string) => documents.find((d) => d.key === key)?.source ?? key;
  for (const c of p.conflicts)
    problems.push(`${sourceOf(c.key)}: ${describeConflict(c)}: HNS cannot change that in place; delete it first or use another Name`);
  for (const msg of p.problems) problems.push(`${sourceOf(msg.split(':')[0])}: ${msg.slice(msg.indexOf(':') + 2)}`);
  if (problems.length > 0) throw new UsageError(`apply: nothing was changed:\n  ${problems.join('\n  ')}`);
  return { plan: p, documents };
}

// ---- execution -----------------------------------------------------------------------------------------

export async function executeApply(svc: HostNetworkService, planned: ApplyPlan): Promise<ApplyOutcome[]> {
  const applied = await applyPlan(svc, planned.plan, { label: 'apply' });
  return planned.documents.map((d) => {
    const a = applied.find((x) => x.key === d.key)!;
    return { Kind: d.kind, Result: a.result, Document: a.document };
  });
}
