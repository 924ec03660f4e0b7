/**
 * Finding objects in the emulator state the way HNS does: GUIDs compared case-insensitively (braces
 * ignored), an ID that is not a GUID refused as such, an unknown one reported with the caller's HRESULT.
 */
import { createHash } from 'node:crypto';
import type { HostComputeEndpoint, HostComputeLoadBalancer, HostComputeNamespace, HostComputeNetwork } from '../../hns';
import { newGuid, sameGuid } from '../../net/id';
import type { EmulatorState } from './state';
import { fail, requireGuid, type Ctx } from './validate';

export { newGuid, sameGuid } from '../../net/id';

/** A version-4-shaped GUID derived from text (stable across processes). */
export function guidFromText(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`.toUpperCase();
}

export { cloneJson as clone } from '../../net/json';

export function findById<T extends { ID?: string }>(list: T[], id: string): T | undefined {
  return list.find((o) => sameGuid(o.ID, id));
}

export function networkIn(
  s: EmulatorState,
  id: string,
  ctx: Ctx,
  code: 'ERROR_NOT_FOUND' | 'HCN_E_NETWORK_NOT_FOUND' = 'ERROR_NOT_FOUND',
): HostComputeNetwork {
  requireGuid(id, 'network ID', ctx);
  const n = findById(s.Networks, id);
  if (!n) fail(code, ctx, `(network ${id})`);
  return n;
}

export function endpointIn(
  s: EmulatorState,
  id: string,
  ctx: Ctx,
  code: 'ERROR_NOT_FOUND' | 'HCN_E_ENDPOINT_NOT_FOUND' = 'ERROR_NOT_FOUND',
): HostComputeEndpoint {
  requireGuid(id, 'endpoint ID', ctx);
  const e = findById(s.Endpoints, id);
  if (!e) fail(code, ctx, `(endpoint ${id})`);
  return e;
}

export function namespaceIn(s: EmulatorState, id: string, ctx: Ctx): HostComputeNamespace {
  requireGuid(id, 'namespace ID', ctx);
  const n = findById(s.Namespaces, id);
  if (!n) fail('ERROR_NOT_FOUND', ctx, `(namespace ${id})`);
  return n;
}

export function loadBalancerIn(s: EmulatorState, id: string, ctx: Ctx): HostComputeLoadBalancer {
  requireGuid(id, 'load balancer ID', ctx);
  const lb = findById(s.LoadBalancers, id);
  if (!lb) fail('ERROR_NOT_FOUND', ctx, `(load balancer ${id})`);
  return lb;
}

/** A caller-chosen ID is honoured (HcnCreate* takes one); otherwise HNS makes one up. */
export function assignId(requested: unknown, taken: { ID?: string }[], what: string, ctx: Ctx): string {
  if (requested === undefined || requested === '' || requested === '00000000-0000-0000-0000-000000000000') return newGuid();
  const id = requireGuid(requested, `${what} ID`, ctx);
  if (findById(taken, id)) fail('ERROR_ALREADY_EXISTS', ctx, `(a ${what} with ID ${id} already exists)`);
  return id;
}
