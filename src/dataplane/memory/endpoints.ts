/** HcnCreateEndpoint / HcnModifyEndpoint / HcnDeleteEndpoint on the emulator state, with HNS's checks and errors. */
import { EndpointFlags, getCI, type HostComputeEndpoint, type ModifyEndpointRequest, SCHEMA_V2 } from '../../hns';
import { endpointV2ToV1 } from '../../hns/convert';
import { applyPolicyRequest } from '../../hns/modify';
import { isMac, parseIp } from '../../net';
import { assignAddresses, checkPortCollisions, defaultRoutes, newMac } from './addressing';
import { assignId, clone, endpointIn, findById, networkIn, sameGuid } from './lookup';
import { checkEndpointPolicies, portsOf } from './policies';
import type { EmulatorState, MutationEnv } from './state';
import { type Ctx, fail } from './validate';

/** An endpoint as a v1 (HNSCall) caller sees it. */
export function endpointV1(s: EmulatorState, e: HostComputeEndpoint): HostComputeEndpoint {
  const net = findById(s.Networks, e.HostComputeNetwork ?? '');
  const ns = e.HostComputeNamespace ? findById(s.Namespaces, e.HostComputeNamespace) : undefined;
  return endpointV2ToV1(e, {
    networkName: net?.Name,
    namespaceIsDefault: ns ? String(ns.Type).toLowerCase() === 'hostdefault' : undefined,
  }) as unknown as HostComputeEndpoint;
}

type Doc = Record<string, unknown>;

export function createEndpointIn(
  s: EmulatorState,
  env: MutationEnv,
  networkId: string,
  input: HostComputeEndpoint,
  ctx: Ctx,
): HostComputeEndpoint {
  const version = env.version;
  const net = networkIn(s, networkId, ctx, 'HCN_E_NETWORK_NOT_FOUND');
  if (input.HostComputeNetwork !== undefined && input.HostComputeNetwork !== '' && !sameGuid(input.HostComputeNetwork, net.ID)) {
    fail(
      'E_INVALIDARG',
      ctx,
      `(HostComputeNetwork ${input.HostComputeNetwork} differs from the network the endpoint is created on, ${net.ID})`,
    );
  }
  if (input.HostComputeNamespace)
    fail('E_INVALIDARG', ctx, '(HostComputeNamespace is read only: add the endpoint to a namespace with HcnModifyNamespace)');
  const id = assignId(input.ID, s.Endpoints, 'endpoint', ctx);
  const remote = ((input.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0;

  const ipConfigs = assignAddresses(s, net, input.IpConfigurations, remote, ctx);
  for (const r of input.Routes ?? []) {
    if (r.NextHop && !parseIp(r.NextHop)) fail('E_INVALIDARG', ctx, `(route NextHop "${r.NextHop}" is not an IP address)`);
  }
  let mac = input.MacAddress;
  if (mac !== undefined && mac !== '') {
    if (!isMac(mac)) fail('E_INVALIDARG', ctx, `(MacAddress "${mac}" is not a MAC address such as 00-15-5D-01-02-03)`);
  } else {
    mac = newMac(s);
  }
  const { policies, ports } = checkEndpointPolicies(input.Policies, version, ctx);
  if (!remote) checkPortCollisions(s, ports, undefined, ctx);

  const ep: HostComputeEndpoint = { ID: id, Name: input.Name, HostComputeNetwork: net.ID, ...input };
  Object.assign(ep, { ID: id, HostComputeNetwork: net.ID, MacAddress: mac });
  if (ep.Name === undefined) delete ep.Name;
  if (ipConfigs.length) ep.IpConfigurations = ipConfigs;
  else delete ep.IpConfigurations;
  if (!remote && (ep.Routes === undefined || ep.Routes === null)) {
    const routes = defaultRoutes(net, ipConfigs);
    if (routes.length) ep.Routes = routes;
  }
  if (policies.length) ep.Policies = policies as HostComputeEndpoint['Policies'];
  else delete ep.Policies;
  delete ep.State;
  ep.SchemaVersion = { ...SCHEMA_V2 };
  s.Endpoints.push(ep);
  return clone(ep);
}

export function modifyEndpointIn(
  s: EmulatorState,
  env: MutationEnv,
  id: string,
  req: ModifyEndpointRequest,
  ctx: Ctx,
): HostComputeEndpoint {
  const ep = endpointIn(s, id, ctx);
  const rt = String(req?.ResourceType ?? '').toLowerCase();
  if (rt === 'port') fail('HCN_E_REQUEST_UNSUPPORTED', ctx, '(Port requests attach a VM NIC; the emulated host has no virtual machines)');
  if (rt !== 'policy') fail('E_INVALIDARG', ctx, `(ResourceType "${String(req?.ResourceType)}" is not one of Policy, Port)`);
  const { policies } = checkEndpointPolicies(getCI((req.Settings ?? {}) as Doc, 'Policies') ?? [], env.version, ctx);
  const next = applyPolicyRequest(ep.Policies ?? [], policies, req.RequestType ?? '', ctx) as HostComputeEndpoint['Policies'];
  const remote = ((ep.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0;
  if (!remote) checkPortCollisions(s, portsOf(next), ep.ID, ctx);
  checkEndpointPolicies(next, env.version, ctx);
  if (next && next.length) ep.Policies = next;
  else delete ep.Policies;
  return clone(ep);
}

export function deleteEndpointIn(s: EmulatorState, id: string, ctx: Ctx): void {
  const ep = endpointIn(s, id, ctx);
  // Deleting an endpoint takes it out of its namespace (HNS does the detach itself).
  for (const ns of s.Namespaces) {
    ns.Resources = (ns.Resources ?? []).filter(
      (r) => !(String(r.Type).toLowerCase() === 'endpoint' && sameGuid(r.Data.ID ?? r.Data.Id, ep.ID)),
    );
  }
  s.Endpoints = s.Endpoints.filter((e) => e !== ep);
}
