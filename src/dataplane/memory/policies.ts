/** Policy list changes with HNS's Add / Remove (by content) / Update (replace by type) semantics. */
import { fail, type Ctx } from './validate';
import { isMac, macKey } from '../../net';

type Doc = Record<string, unknown>;
type Policy = { Type: string; Settings?: unknown };

/** Stable identity of a policy for "remove by content": type and settings, keys and strings case-folded. */
export function policyKey(p: { Type?: unknown; Settings?: unknown }): string {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (typeof v === 'string') return isMac(v) ? macKey(v) : (v as string).toLowerCase();
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()))) o[k.toLowerCase()] = norm((v as Doc)[k]);
      return o;
    }
    return v;
  };
  return JSON.stringify([String(p.Type ?? '').toLowerCase(), norm(p.Settings ?? {})]);
}

/** Add / Remove (by content) / Update (replace all policies of the given types) on a policy array. */
export function applyPolicyChange(
  current: Policy[],
  incoming: Policy[],
  op: string,
  ctx: Ctx,
  conflicts: (p: Policy, existing: Policy[]) => boolean = () => false,
  shown?: unknown,
): Policy[] {
  const result = [...current];
  if (op === 'add') {
    for (const p of incoming) {
      if (result.some((e) => policyKey(e) === policyKey(p)) || conflicts(p, result)) {
        fail('HCN_E_POLICY_ALREADY_EXISTS', ctx, `(${p.Type} ${JSON.stringify(p.Settings ?? {})})`);
      }
      result.push(p);
    }
    return result;
  }
  if (op === 'remove') {
    for (const p of incoming) {
      const i = result.findIndex((e) => policyKey(e) === policyKey(p));
      if (i < 0) fail('HCN_E_POLICY_NOT_FOUND', ctx, `(${p.Type} ${JSON.stringify(p.Settings ?? {})})`);
      result.splice(i, 1);
    }
    return result;
  }
  if (op === 'update') {
    const types = new Set(incoming.map((p) => p.Type.toLowerCase()));
    return [...result.filter((e) => !types.has(e.Type.toLowerCase())), ...incoming];
  }
  fail('E_INVALIDARG', ctx, `(RequestType "${String(shown ?? op)}" is not valid for policies: use Add, Remove or Update)`);
}
