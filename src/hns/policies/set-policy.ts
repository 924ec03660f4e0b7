/** SetPolicy (network, HNS ≥ 13.0): an IP set for ACLs; NESTEDIPSET needs HNS ≥ 15.0. The JSON key is `PolicyType`. */
import { getCI } from '../../net/json';
import type { PolicyDescriptor } from './descriptor';
import { at } from './checker';

export interface SetPolicySettings {
  Id: string;
  Name?: string;
  PolicyType: 'IPSET' | 'NESTEDIPSET';
  Values: string;
}

export const setPolicy: PolicyDescriptor = {
  type: 'SetPolicy',
  keys: ['PolicyType', 'Values', 'Name'],
  feature: 'SetPolicy',
  needs: (s) => {
    const kind = getCI(s, 'PolicyType');
    return typeof kind === 'string' && kind.toUpperCase() === 'NESTEDIPSET'
      ? [{ feature: 'NestedIpSet', what: 'NESTEDIPSET SetPolicy' }]
      : [];
  },
  check: (c, p, s) => {
    c.string(at(p, 'Id'), s.Id, true);
    if (s.Name !== undefined) c.string(at(p, 'Name'), s.Name);
    c.oneOf(at(p, 'PolicyType'), s.PolicyType, ['IPSET', 'NESTEDIPSET']);
    c.string(at(p, 'Values'), s.Values);
  },
};
