/**
 * Policy Add / Remove / Update applied on the client for the hns-v1 data plane (HNSCall has no
 * ModifySettingRequest): Add refuses a policy that is already there, Remove matches by content, Update
 * replaces the policies of the given types — the semantics HcnModifyNetwork/HcnModifyEndpoint have.
 */
import { HRESULT, HnsError, type HnsErrorContext } from '../../../hns/errors';
import type { RequestType } from '../../../hns/modify';

export interface AnyPolicy { Type: string; Settings?: unknown }

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k.toLowerCase(), canonical((v as Record<string, unknown>)[k])]));
  }
  if (typeof v === 'string') return v.toLowerCase();
  if (typeof v === 'bigint') return v.toString();
  return v;
}

export function policyKey(p: AnyPolicy): string {
  return JSON.stringify([String(p.Type).toLowerCase(), canonical(p.Settings ?? {})]);
}

export function applyPolicyRequest(current: AnyPolicy[], incoming: AnyPolicy[], request: RequestType, ctx: HnsErrorContext): AnyPolicy[] {
  const out = [...current];
  switch (request) {
    case 'Add':
      for (const p of incoming) {
        if (out.some((e) => policyKey(e) === policyKey(p))) throw HnsError.of('HCN_E_POLICY_ALREADY_EXISTS', ctx, `The policy already exists: ${p.Type} ${JSON.stringify(p.Settings ?? {})}`);
        out.push(p);
      }
      return out;
    case 'Remove':
      for (const p of incoming) {
        const i = out.findIndex((e) => policyKey(e) === policyKey(p));
        if (i < 0) throw HnsError.of('HCN_E_POLICY_NOT_FOUND', ctx, `The expected policy was not found: ${p.Type} ${JSON.stringify(p.Settings ?? {})}`);
        out.splice(i, 1);
      }
      return out;
    case 'Update': {
      const types = new Set(incoming.map((p) => String(p.Type).toLowerCase()));
      return [...out.filter((e) => !types.has(String(e.Type).toLowerCase())), ...incoming];
    }
    default:
      throw new HnsError(HRESULT.E_INVALIDARG, `RequestType "${request}" is not valid for policies: use Add, Remove or Update`, ctx);
  }
}
