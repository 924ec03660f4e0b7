/**
 * The emulator's policy checks, read from the registry (src/hns/policies/): a policy type HNS knows, the HNS
 * features it needs, what HNS refuses in its settings, and the host ports PortMapping policies claim.
 */
import { getCI, policyTypeIs, type HnsVersion } from '../../hns';
import { gatingFeature, policyDescriptor, policyTypesOf, type PolicyDescriptor } from '../../hns/policies';
import { fail, requireFeature, type Ctx } from './validate';

function canonicalPolicy(t: unknown, scope: 'network' | 'endpoint', ctx: Ctx): PolicyDescriptor {
  if (typeof t !== 'string' || t === '') fail('HCN_E_INVALID_POLICY_TYPE', ctx, `(${scope} policy without a Type)`);
  const found = policyDescriptor(scope, t);
  if (!found)
    fail('HCN_E_INVALID_POLICY_TYPE', ctx, `(${scope} policy type "${t}" is not one HNS knows: ${policyTypesOf(scope).join(', ')})`);
  return found;
}

function settings(p: { Settings?: unknown }): Record<string, unknown> {
  return p.Settings && typeof p.Settings === 'object' ? (p.Settings as Record<string, unknown>) : {};
}

/** What HNS checks on one policy, from its descriptor: the features it needs, then its settings. */
function checkPolicy(
  raw: unknown,
  scope: 'network' | 'endpoint',
  version: HnsVersion,
  ctx: Ctx,
): { Type: string; Settings?: Record<string, unknown> } {
  const p = raw as { Type?: unknown; Settings?: unknown };
  const d = canonicalPolicy(p?.Type, scope, ctx);
  const s = settings(p);
  const feature = gatingFeature(d, scope);
  if (feature) requireFeature(version, feature, `${scope} policy ${d.type}`, ctx, 'HCN_E_INVALID_POLICY_TYPE');
  for (const need of d.needs?.(s) ?? []) requireFeature(version, need.feature, need.what, ctx, 'HCN_E_INVALID_POLICY_TYPE');
  d.hnsCheck?.(s, {
    invalid: (detail) => fail('HCN_E_INVALID_POLICY', ctx, `(${d.type}: ${detail})`),
    fail: (code, detail) => fail(code, ctx, detail),
  });
  return p.Settings === undefined ? { Type: d.type } : { Type: d.type, Settings: p.Settings as Record<string, unknown> };
}

/** Validates and canonicalizes the Type spelling of network policies. */
export function checkNetworkPolicies(
  policies: unknown,
  version: HnsVersion,
  ctx: Ctx,
): { Type: string; Settings?: Record<string, unknown> }[] {
  if (policies === undefined) return [];
  if (!Array.isArray(policies)) fail('E_INVALIDARG', ctx, '(Policies must be an array)');
  return policies.map((raw) => checkPolicy(raw, 'network', version, ctx));
}

export interface PortKey {
  protocol: number;
  port: number;
  vip: string;
}

/** Validates endpoint policies; returns them with canonical Type spelling plus the host ports they claim. */
export function checkEndpointPolicies(
  policies: unknown,
  version: HnsVersion,
  ctx: Ctx,
): { policies: { Type: string; Settings?: Record<string, unknown> }[]; ports: PortKey[] } {
  if (policies === undefined) return { policies: [], ports: [] };
  if (!Array.isArray(policies)) fail('E_INVALIDARG', ctx, '(Policies must be an array)');
  const out = policies.map((raw) => checkPolicy(raw, 'endpoint', version, ctx));
  const ports = portsOf(out);
  // Two mappings of the same host port within one document collide too.
  const seen = new Set<string>();
  for (const k of ports) {
    const key = `${k.protocol}/${k.port}/${k.vip}`;
    if (seen.has(key))
      fail('HCN_E_PORT_ALREADY_EXISTS', ctx, `(host port ${k.port}/${k.protocol}${k.vip ? ' on ' + k.vip : ''} is mapped twice)`);
    seen.add(key);
  }
  return { policies: out, ports };
}

export function portsOf(policies: { Type?: unknown; Settings?: unknown }[] | undefined): PortKey[] {
  const out: PortKey[] = [];
  for (const p of policies ?? []) {
    if (!policyTypeIs(p, 'PortMapping')) continue;
    const s = settings(p);
    const ext = getCI(s, 'ExternalPort');
    const proto = getCI(s, 'Protocol');
    if (typeof ext === 'number' && ext > 0 && typeof proto === 'number')
      out.push({ protocol: proto, port: ext, vip: String(getCI(s, 'VIP') ?? '').toLowerCase() });
  }
  return out;
}
