/** NetworkACL (network, HNS ≥ 15.0): the endpoint ACL's fields applied to the whole network. */
import type { PolicyDescriptor } from './descriptor';
import { ACL_KEYS, checkAcl } from './acl';

export const networkAcl: PolicyDescriptor = {
  type: 'NetworkACL',
  keys: ACL_KEYS,
  feature: 'NetworkACL',
  check: checkAcl,
};
