/**
 * Policy requests (HcnModifyNetwork / HcnModifyEndpoint, Add, Update, Remove): the stored documents change
 * and the kernel follows (network policies are routes, endpoint policies the nft ruleset); on failure both
 * are back as they were.
 */
import { applyPolicyRequest } from '../../hns/modify';
import {
  HnsError,
  getCI,
  policyTypeIs,
  type HostComputeEndpoint,
  type HostComputeNetwork,
  type ModifyEndpointRequest,
  type ModifyNetworkRequest,
  type NetworkPolicy,
} from '../../hns';
import type { LinuxContext } from './context';
import { clone } from './clone';
import { applyNetworkPolicy, describeNetwork, removeNetworkPolicy } from './realize-network';
import { checkEndpointPolicies, checkNetworkPolicies } from './realizable';

export function modifyNetwork(c: LinuxContext, id: string, request: ModifyNetworkRequest): Promise<HostComputeNetwork> {
  return c.mutate('HcnModifyNetwork', `network ${id}`, (s) => {
    const rec = c.network(s, id, 'HcnModifyNetwork');
    if (request.ResourceType === 'DNS') {
      rec.doc.Dns = clone(request.Settings);
    } else if (request.ResourceType === 'Policy') {
      const policies = (request.Settings?.Policies ?? []) as NetworkPolicy[];
      const sameAs = (a: NetworkPolicy, b: NetworkPolicy) =>
        policyTypeIs(a, String(b.Type)) && JSON.stringify(a.Settings ?? {}) === JSON.stringify(b.Settings ?? {});
      const sameRoute = (a: NetworkPolicy, b: NetworkPolicy) =>
        policyTypeIs(a, 'RemoteSubnetRoute') &&
        policyTypeIs(b, 'RemoteSubnetRoute') &&
        getCI(a.Settings, 'DestinationPrefix') === getCI(b.Settings, 'DestinationPrefix');
      if (request.RequestType === 'Remove') {
        for (const p of policies) {
          const existing = (rec.doc.Policies ?? []).filter((x) => sameAs(x, p) || sameRoute(x, p));
          if (!existing.length)
            throw HnsError.of('HCN_E_POLICY_NOT_FOUND', { call: 'HcnModifyNetwork', subject: `network ${id} policy ${String(p.Type)}` });
          for (const x of existing) removeNetworkPolicy(c.rt, rec, x);
          rec.doc.Policies = (rec.doc.Policies ?? []).filter((x) => !existing.includes(x));
        }
      } else if (request.RequestType === 'Add' || request.RequestType === 'Update') {
        checkNetworkPolicies(policies, 'Settings.Policies');
        const applied: NetworkPolicy[] = [];
        try {
          for (const p of policies) {
            const replaced = (rec.doc.Policies ?? []).filter((x) => sameRoute(x, p));
            if (request.RequestType === 'Add' && (rec.doc.Policies ?? []).some((x) => sameAs(x, p))) {
              throw HnsError.of(
                'HCN_E_POLICY_ALREADY_EXISTS',
                { call: 'HcnModifyNetwork', subject: `network ${id} policy ${String(p.Type)}` },
                `${String(p.Type)} ${JSON.stringify(p.Settings ?? {})}`,
              );
            }
            for (const x of replaced) removeNetworkPolicy(c.rt, rec, x);
            rec.doc.Policies = [...(rec.doc.Policies ?? []).filter((x) => !replaced.includes(x)), clone(p)];
            applyNetworkPolicy(c.rt, rec, p);
            applied.push(p);
          }
        } catch (e) {
          for (const p of applied) removeNetworkPolicy(c.rt, rec, p);
          throw e;
        }
      } else {
        throw HnsError.of(
          'HCN_E_REQUEST_UNSUPPORTED',
          { call: 'HcnModifyNetwork', subject: `network ${id}` },
          `RequestType ${request.RequestType} is not supported for network policies`,
        );
      }
    } else {
      throw HnsError.of(
        'HCN_E_REQUEST_UNSUPPORTED',
        { call: 'HcnModifyNetwork', subject: `network ${id}` },
        `ResourceType ${request.ResourceType} is not supported by the linux data plane`,
      );
    }
    return clone(describeNetwork(rec));
  });
}

export function modifyEndpoint(c: LinuxContext, id: string, request: ModifyEndpointRequest): Promise<HostComputeEndpoint> {
  return c.mutate('HcnModifyEndpoint', `endpoint ${id}`, (s) => {
    const ep = c.endpoint(s, id, 'HcnModifyEndpoint');
    if (request.ResourceType !== 'Policy')
      throw HnsError.of(
        'HCN_E_REQUEST_UNSUPPORTED',
        { call: 'HcnModifyEndpoint', subject: `endpoint ${id}` },
        `ResourceType ${request.ResourceType} is not supported by the linux data plane`,
      );
    const policies = clone(request.Settings.Policies ?? []);
    if (request.RequestType !== 'Remove')
      checkEndpointPolicies(c.network(s, ep.doc.HostComputeNetwork ?? '', 'HcnModifyEndpoint'), policies, 'Settings.Policies');
    const before = ep.doc.Policies;
    // HNS semantics (src/hns/modify.ts): an Update replaces only the policy types it carries.
    ep.doc.Policies = applyPolicyRequest(before ?? [], policies, request.RequestType, {
      call: 'HcnModifyEndpoint',
      subject: `endpoint ${id}`,
    });
    try {
      c.syncRules(s);
    } catch (e) {
      ep.doc.Policies = before;
      throw e;
    }
    return clone(ep.doc);
  });
}
