/** ModifySettingRequest shapes (docs/hcn-model.md, "Modify requests") and how a Policy request changes a policy list. */
import type { NetworkPolicy, EndpointPolicy } from './policy';
import type { Dns } from './schema';
import { HRESULT, HRESULT_MESSAGES, HnsError, type HnsErrorContext } from './errors';
import { isMac, macKey } from '../net/mac';
import { stringifyHnsJson } from '../net/json';

export type RequestType = 'Add' | 'Remove' | 'Update' | 'Refresh' | 'Reset';
export const REQUEST_TYPES: readonly RequestType[] = ['Add', 'Remove', 'Update', 'Refresh', 'Reset'];

export type NetworkResourceType = 'Policy' | 'DNS' | 'Extension' | 'Subnet' | 'IPSubnet';
export type EndpointResourceType = 'Port' | 'Policy';
export type NamespaceResourceType = 'Endpoint' | 'Container';

export interface ModifyRequest<R extends string, S> {
  ResourceType: R;
  RequestType: RequestType;
  ResourceUri?: string;
  Settings: S;
}

export type ModifyNetworkRequest =
  | ModifyRequest<'Policy', { Policies: NetworkPolicy[] }>
  | ModifyRequest<'DNS', Dns>
  | ModifyRequest<'Extension', { Id: string; IsEnabled: boolean }>
  | ModifyRequest<'Subnet', { Subnets: unknown[] }>
  | ModifyRequest<'IPSubnet', { SubnetId: string; IpSubnets: unknown[] }>;

export type ModifyEndpointRequest =
  | ModifyRequest<'Policy', { Policies: EndpointPolicy[] }>
  | ModifyRequest<'Port', { PortId?: string; VirtualNicName?: string; VirtualMachineId?: string }>;

export type ModifyNamespaceRequest =
  ModifyRequest<'Endpoint', { EndpointId: string }> | ModifyRequest<'Container', { ContainerId: string }>;

export function networkPolicyRequest(requestType: RequestType, policies: NetworkPolicy[]): ModifyNetworkRequest {
  return { ResourceType: 'Policy', RequestType: requestType, Settings: { Policies: policies } };
}

export function endpointPolicyRequest(requestType: RequestType, policies: EndpointPolicy[]): ModifyEndpointRequest {
  return { ResourceType: 'Policy', RequestType: requestType, Settings: { Policies: policies } };
}

export function namespaceEndpointRequest(requestType: 'Add' | 'Remove', endpointId: string): ModifyNamespaceRequest {
  return { ResourceType: 'Endpoint', RequestType: requestType, Settings: { EndpointId: endpointId } };
}

// ---- Policy requests ----------------------------------------------------------------------------------------

export interface AnyPolicy {
  Type: string;
  Settings?: unknown;
}

/**
 * Identity of a policy for Add (refuse a duplicate) and Remove (match by content): the type and the settings,
 * keys and strings case-folded and MACs compared by value, as HNS compares them.
 */
export function policyKey(p: { Type?: unknown; Settings?: unknown }): string {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (typeof v === 'string') return isMac(v) ? macKey(v) : (v as string).toLowerCase();
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())))
        o[k.toLowerCase()] = norm((v as Record<string, unknown>)[k]);
      return o;
    }
    return v;
  };
  return JSON.stringify([String(p.Type ?? '').toLowerCase(), norm(p.Settings ?? {})]);
}

export interface PolicyRequestOptions<P extends AnyPolicy> {
  /** An Add that collides with a policy of other content (RemoteSubnetRoute: one per destination prefix). */
  conflicts?: (p: P, existing: P[]) => boolean;
}

function refuse(
  name: 'HCN_E_POLICY_ALREADY_EXISTS' | 'HCN_E_POLICY_NOT_FOUND' | 'E_INVALIDARG',
  ctx: HnsErrorContext,
  detail: string,
): never {
  const text = HRESULT_MESSAGES[HRESULT[name]] ?? `${name} `;
  throw new HnsError(HRESULT[name], `${text.trim()} ${detail}`, { ...ctx, record: text });
}

/**
 * A Policy ModifySettingRequest applied to a network's or an endpoint's policy list, with HNS's semantics:
 * Add appends (a policy already there, or one that `conflicts`, is HCN_E_POLICY_ALREADY_EXISTS), Remove takes
 * out policies matched by content (one that is not there is HCN_E_POLICY_NOT_FOUND), Update replaces every
 * policy of the types it carries and keeps the others (an ACL Update leaves OutBoundNAT in place). Returns a
 * new list; `current` is not changed. The request type is matched case-insensitively.
 */
export function applyPolicyRequest<P extends AnyPolicy>(
  current: P[],
  incoming: P[],
  requestType: string,
  ctx: HnsErrorContext,
  opts: PolicyRequestOptions<P> = {},
): P[] {
  const result = [...current];
  const shown = (p: P) => `(${p.Type} ${stringifyHnsJson(p.Settings ?? {})})`;
  switch (String(requestType).toLowerCase()) {
    case 'add':
      for (const p of incoming) {
        if (result.some((e) => policyKey(e) === policyKey(p)) || opts.conflicts?.(p, result))
          refuse('HCN_E_POLICY_ALREADY_EXISTS', ctx, shown(p));
        result.push(p);
      }
      return result;
    case 'remove':
      for (const p of incoming) {
        const i = result.findIndex((e) => policyKey(e) === policyKey(p));
        if (i < 0) refuse('HCN_E_POLICY_NOT_FOUND', ctx, shown(p));
        result.splice(i, 1);
      }
      return result;
    case 'update': {
      const types = new Set(incoming.map((p) => String(p.Type).toLowerCase()));
      return [...result.filter((e) => !types.has(String(e.Type).toLowerCase())), ...incoming];
    }
    default:
      refuse('E_INVALIDARG', ctx, `(RequestType "${String(requestType)}" is not valid for policies: use Add, Remove or Update)`);
  }
}
