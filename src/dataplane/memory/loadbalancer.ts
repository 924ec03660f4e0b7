/** HcnCreate/Modify/DeleteLoadBalancer on the emulator state, and the checks HNS applies to the document (feature gates included). */
import { SCHEMA_V2, type HnsVersion, type HostComputeLoadBalancer } from '../../hns';
import { formatIp, parseIp } from '../../net';
import { assignId, clone, endpointIn, loadBalancerIn, networkIn, sameGuid } from './lookup';
import type { EmulatorState, MutationEnv } from './state';
import { fail, requireFeature, type Ctx } from './validate';

/** Validates a load balancer document against the state; returns it with canonical endpoint IDs. */
export function checkLoadBalancer(
  s: EmulatorState,
  input: HostComputeLoadBalancer,
  self: string | undefined,
  version: HnsVersion,
  ctx: Ctx,
): HostComputeLoadBalancer {
  const eps = input.HostComputeEndpoints;
  if (!Array.isArray(eps) || eps.length === 0)
    fail('E_INVALIDARG', ctx, '(HostComputeEndpoints must list at least one endpoint; delete the load balancer instead of emptying it)');
  const endpoints = eps.map((e) => endpointIn(s, String(e), ctx, 'HCN_E_ENDPOINT_NOT_FOUND').ID!);
  if (new Set(endpoints).size !== endpoints.length) fail('E_INVALIDARG', ctx, '(HostComputeEndpoints lists an endpoint twice)');
  const pms = input.PortMappings ?? [];
  if (!Array.isArray(pms) || pms.length === 0) fail('E_INVALIDARG', ctx, '(PortMappings must have at least one mapping)');
  for (const [i, pm] of pms.entries()) {
    if (typeof pm.Protocol !== 'number' || !Number.isInteger(pm.Protocol) || pm.Protocol < 0 || pm.Protocol > 255)
      fail('E_INVALIDARG', ctx, `(PortMappings[${i}].Protocol must be a protocol number, 6 TCP or 17 UDP)`);
    if (!pm.InternalPort) fail('HCN_E_INVALID_INTERNAL_PORT', ctx, `(PortMappings[${i}].InternalPort must be set)`);
    for (const k of ['InternalPort', 'ExternalPort'] as const) {
      const v = pm[k];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535))
        fail('E_INVALIDARG', ctx, `(PortMappings[${i}].${k} must be a port number)`);
    }
    if (pm.DistributionType === 2) requireFeature(version, 'SessionAffinity', 'DistributionType 2 (source-IP session affinity)', ctx);
    if (pm.DistributionType !== undefined && ![0, 1, 2].includes(pm.DistributionType))
      fail('E_INVALIDARG', ctx, `(PortMappings[${i}].DistributionType must be 0, 1 or 2)`);
  }
  const flags = input.Flags ?? 0;
  if (flags & 1) requireFeature(version, 'DSR', 'direct server return (Flags 1)', ctx);
  if (flags & 2) requireFeature(version, 'IPv6DualStack', 'an IPv6 load balancer (Flags 2)', ctx);
  for (const v of input.FrontendVIPs ?? []) if (!parseIp(v)) fail('E_INVALIDARG', ctx, `(FrontendVIPs entry "${v}" is not an IP address)`);
  if (input.SourceVIP !== undefined && input.SourceVIP !== '' && !parseIp(input.SourceVIP))
    fail('E_INVALIDARG', ctx, `(SourceVIP "${input.SourceVIP}" is not an IP address)`);
  if (input.HostComputeNetwork) networkIn(s, input.HostComputeNetwork, ctx, 'HCN_E_NETWORK_NOT_FOUND');
  // Two load balancers may not claim the same frontend (kube-proxy sees 0x803b0013 for duplicates).
  const vipKey = (l: HostComputeLoadBalancer) =>
    (l.FrontendVIPs ?? [])
      .map((v) => parseIp(v)!)
      .map((ip) => formatIp(ip))
      .sort()
      .join(',');
  const mine = vipKey(input);
  for (const other of s.LoadBalancers) {
    if (self && sameGuid(other.ID, self)) continue;
    if (vipKey(other) !== mine) continue;
    for (const pm of pms) {
      const clash = (other.PortMappings ?? []).find(
        (o) => o.Protocol === pm.Protocol && o.ExternalPort === pm.ExternalPort && ((o.Flags ?? 0) & 1) === ((pm.Flags ?? 0) & 1),
      );
      if (clash)
        fail(
          'HCN_E_PORT_ALREADY_EXISTS',
          ctx,
          `(load balancer ${other.ID} already serves ${mine || 'all host addresses'} port ${pm.ExternalPort}/${pm.Protocol})`,
        );
    }
  }
  return { ...input, HostComputeEndpoints: endpoints };
}

export function createLoadBalancerIn(
  s: EmulatorState,
  env: MutationEnv,
  input: HostComputeLoadBalancer,
  ctx: Ctx,
): HostComputeLoadBalancer {
  const id = assignId(input.ID, s.LoadBalancers, 'load balancer', ctx);
  const lb = { ID: id, ...checkLoadBalancer(s, input, undefined, env.version, ctx) };
  lb.ID = id;
  lb.SchemaVersion = { ...SCHEMA_V2 };
  delete lb.State;
  s.LoadBalancers.push(lb);
  return clone(lb);
}

export function modifyLoadBalancerIn(
  s: EmulatorState,
  env: MutationEnv,
  id: string,
  input: HostComputeLoadBalancer,
  ctx: Ctx,
): HostComputeLoadBalancer {
  requireFeature(env.version, 'ModifyLoadbalancer', 'modifying a load balancer in place', ctx);
  const current = loadBalancerIn(s, id, ctx);
  if (input.ID !== undefined && !sameGuid(input.ID, current.ID))
    fail('E_INVALIDARG', ctx, `(document ID ${input.ID} differs from ${current.ID})`);
  const lb = checkLoadBalancer(s, input, current.ID, env.version, ctx);
  lb.ID = current.ID;
  lb.SchemaVersion = { ...SCHEMA_V2 };
  s.LoadBalancers[s.LoadBalancers.indexOf(current)] = lb;
  return clone(lb);
}

export function deleteLoadBalancerIn(s: EmulatorState, id: string, ctx: Ctx): void {
  const lb = loadBalancerIn(s, id, ctx);
  s.LoadBalancers = s.LoadBalancers.filter((l) => l !== lb);
}
