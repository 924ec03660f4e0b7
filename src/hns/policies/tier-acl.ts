/** TierAcl (endpoint, HNS ≥ 14.0): ordered tiers of ACL rules; its rules may Pass (to the next tier). */
import type { PolicyDescriptor } from './descriptor';
import { UINT16, at, isProtocolNumber } from './checker';

export interface TierAclRule {
  Id?: string;
  Protocols?: string;
  TierAclRuleAction: 'Allow' | 'Block' | 'Pass';
  LocalAddresses?: string;
  RemoteAddresses?: string;
  LocalPorts?: string;
  RemotePorts?: string;
  Priority?: number;
}
export interface TierAclSettings {
  Name: string;
  Direction: 'In' | 'Out';
  Order?: number;
  TierAclRules: TierAclRule[];
}

export const tierAcl: PolicyDescriptor = {
  type: 'TierAcl',
  keys: [
    'Name',
    'Direction',
    'Order',
    'TierAclRules',
    'TierAclRuleAction',
    'Protocols',
    'LocalAddresses',
    'RemoteAddresses',
    'LocalPorts',
    'RemotePorts',
    'Priority',
  ],
  feature: 'TierAcl',
  check: (c, p, s) => {
    c.string(at(p, 'Name'), s.Name, true);
    c.oneOf(at(p, 'Direction'), s.Direction, ['In', 'Out']);
    if (s.Order !== undefined) c.integer(at(p, 'Order'), s.Order, 0, UINT16);
    if (c.array(at(p, 'TierAclRules'), s.TierAclRules)) {
      s.TierAclRules.forEach((r, i) => {
        const rp = at(at(p, 'TierAclRules'), i);
        if (!c.object(rp, r)) return;
        c.oneOf(at(rp, 'TierAclRuleAction'), r.TierAclRuleAction, ['Allow', 'Block', 'Pass']);
        if (r.Protocols !== undefined) c.commaList(at(rp, 'Protocols'), r.Protocols, isProtocolNumber, 'IP protocol numbers');
        if (r.Priority !== undefined) c.integer(at(rp, 'Priority'), r.Priority, 0, UINT16);
      });
    }
  },
};
