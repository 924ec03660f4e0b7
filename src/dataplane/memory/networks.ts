/** HcnCreateNetwork / HcnModifyNetwork / HcnDeleteNetwork on the emulator state, with HNS's checks and errors. */
import { getCI, type HostComputeNetwork, type ModifyNetworkRequest, policyTypeIs, type Subnet, SCHEMA_V2 } from '../../hns';
import { applyPolicyRequest } from '../../hns/modify';
import { policyDescriptor, policyTypesOf } from '../../hns/policies';
import { assignId, clone, networkIn, newGuid, sameGuid } from './lookup';
import { checkNetworkPolicies } from './policies';
import type { EmulatorState, MutationEnv } from './state';
import { modifyIpSubnets, modifySubnets } from './subnets';
import { canonicalGuid, checkNetworkType, type Ctx, fail, isGuid, subnetsOf } from './validate';

type Doc = Record<string, unknown>;

export function createNetworkIn(s: EmulatorState, env: MutationEnv, input: HostComputeNetwork, ctx: Ctx): HostComputeNetwork {
  const version = env.version;
  const type = checkNetworkType(input.Type, ctx);
  if (input.Name !== undefined && typeof input.Name !== 'string') fail('E_INVALIDARG', ctx, '(Name must be a string)');
  if (input.Name && s.Networks.some((n) => n.Name === input.Name)) fail('HCN_E_NETWORK_ALREADY_EXISTS', ctx, `(name "${input.Name}")`);
  const id = assignId(input.ID, s.Networks, 'network', ctx);
  if (input.Ipams !== undefined && !Array.isArray(input.Ipams)) fail('E_INVALIDARG', ctx, '(Ipams must be an array)');
  for (const ipam of input.Ipams ?? []) {
    if (ipam.Type !== undefined && !['static', 'dhcp'].includes(String(ipam.Type).toLowerCase()))
      fail('E_INVALIDARG', ctx, `(Ipams Type "${ipam.Type}" must be Static or Dhcp)`);
    if (ipam.Subnets !== undefined && !Array.isArray(ipam.Subnets)) fail('E_INVALIDARG', ctx, '(Ipams[].Subnets must be an array)');
    // HNS gives every subnet an ID (v1 output shows Subnets[].ID).
    ipam.Subnets = ipam.Subnets?.map((sub) => (sub.ID === undefined ? { ID: newGuid(), ...sub } : sub));
    for (const sub of ipam.Subnets ?? []) {
      for (const p of sub.Policies ?? []) {
        const d = policyDescriptor('subnet', p.Type);
        if (!d)
          fail('HCN_E_INVALID_POLICY_TYPE', ctx, `(subnet policy "${String(p.Type)}" must be ${policyTypesOf('subnet').join(' or ')})`);
        if (typeof getCI(p.Settings, 'IsolationId') !== 'number')
          fail('HCN_E_INVALID_POLICY', ctx, `(subnet ${sub.IpAddressPrefix} ${p.Type} needs a numeric IsolationId)`);
        p.Type = d.type as 'VSID' | 'VLAN';
      }
    }
  }
  subnetsOf(input, ctx);
  const policies = checkNetworkPolicies(input.Policies, version, ctx);
  // HNS publishes the host's provider address (and, on Overlay, the distributed router MAC) on the
  // networks that need them; flannel waits for these before it uses the network.
  const host = env.host;
  if (type === 'Overlay' || type === 'L2Bridge') {
    if (!policies.some((p) => policyTypeIs(p, 'ProviderAddress'))) {
      policies.push({ Type: 'ProviderAddress', Settings: { ProviderAddress: host.ManagementIP } });
    }
    if (type === 'Overlay' && !policies.some((p) => policyTypeIs(p, 'DrMacAddress'))) {
      policies.push({ Type: 'DrMacAddress', Settings: { Address: host.DrMacAddress } });
    }
  }
  const net: HostComputeNetwork = { ID: id, ...input };
  net.ID = id;
  // HNS leaves Type out of its output when it is NAT (the zero value).
  if (type === 'NAT') delete net.Type;
  else net.Type = type;
  if (policies.length) net.Policies = policies;
  else delete net.Policies;
  delete net.State;
  net.SchemaVersion = { ...SCHEMA_V2 };
  s.Networks.push(net);
  return clone(net);
}

export function modifyNetworkIn(s: EmulatorState, env: MutationEnv, id: string, req: ModifyNetworkRequest, ctx: Ctx): HostComputeNetwork {
  const net = networkIn(s, id, ctx);
  const version = env.version;
  const rt = String(req?.ResourceType ?? '').toLowerCase();
  const op = String(req?.RequestType ?? '').toLowerCase();
  const settings = (req?.Settings ?? {}) as Doc;
  switch (rt) {
    case 'policy': {
      const incoming = checkNetworkPolicies(getCI(settings, 'Policies') ?? [], version, ctx);
      net.Policies = applyPolicyRequest(net.Policies ?? [], incoming, req.RequestType ?? '', ctx, {
        conflicts: (p, existing) => {
          // One route per remote prefix: flannel removes the old one before adding the new one.
          if (!policyTypeIs(p, 'RemoteSubnetRoute')) return false;
          const prefix = String(getCI(p.Settings, 'DestinationPrefix') ?? '').toLowerCase();
          return existing.some(
            (e) => policyTypeIs(e, 'RemoteSubnetRoute') && String(getCI(e.Settings, 'DestinationPrefix') ?? '').toLowerCase() === prefix,
          );
        },
      }) as HostComputeNetwork['Policies'];
      break;
    }
    case 'dns':
      if (op === 'remove') delete net.Dns;
      else if (op === 'add' || op === 'update') net.Dns = settings as HostComputeNetwork['Dns'];
      else fail('E_INVALIDARG', ctx, `(RequestType "${req.RequestType}" is not valid for DNS: use Add, Update or Remove)`);
      break;
    case 'extension': {
      const extId = getCI<string>(settings, 'Id');
      if (!isGuid(extId)) fail('E_INVALIDARG', ctx, '(Extension Settings.Id must be the extension GUID)');
      const enable = !!getCI(settings, 'IsEnabled');
      const others = (net.Policies ?? []).filter(
        (p) => !(policyTypeIs(p, 'VSwitchExtension') && sameGuid(getCI(p.Settings, 'ExtensionID'), extId)),
      );
      net.Policies = [...others, { Type: 'VSwitchExtension', Settings: { ExtensionID: canonicalGuid(extId), Enable: enable } }];
      break;
    }
    case 'subnet':
      modifySubnets(s, net, op, getCI<Subnet[]>(settings, 'Subnets') ?? [], ctx);
      break;
    case 'ipsubnet':
      modifyIpSubnets(net, op, settings, ctx);
      break;
    default:
      fail('E_INVALIDARG', ctx, `(ResourceType "${String(req?.ResourceType)}" is not one of Policy, DNS, Extension, Subnet, IPSubnet)`);
  }
  return clone(net);
}

export function deleteNetworkIn(s: EmulatorState, id: string, ctx: Ctx): void {
  const net = networkIn(s, id, ctx);
  const eps = s.Endpoints.filter((e) => sameGuid(e.HostComputeNetwork, net.ID));
  if (eps.length)
    fail(
      'HCN_E_ENTITY_HAS_REFERENCES',
      ctx,
      `(${eps.length} endpoint(s) still on network ${net.Name ?? net.ID}: ${eps
        .slice(0, 3)
        .map((e) => e.Name ?? e.ID)
        .join(', ')}${eps.length > 3 ? ', ...' : ''})`,
    );
  s.Networks = s.Networks.filter((n) => n !== net);
}
