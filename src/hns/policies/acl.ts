/**
 * ACL (endpoint). Action is Allow or Block: `Pass` is a TierAcl rule action only (HNS_Schema 2.10), so both the
 * validator and the emulator refuse it here. Port ranges, address lists and rule IDs need HNS ≥ 7.2.
 */
import { getCI } from '../../net/json';
import { isCidr, isIp } from '../../net/ip';
import type { PolicyDescriptor } from './descriptor';
import type { Checker, Rec } from './checker';
import { UINT16, at, isPortOrRange, isProtocolNumber } from './checker';
import { clean, str } from './v1-form';

export interface AclPolicySettings {
  Id?: string;
  Protocols?: string;
  Action: 'Allow' | 'Block';
  Direction: 'In' | 'Out';
  LocalAddresses?: string;
  RemoteAddresses?: string;
  LocalPorts?: string;
  RemotePorts?: string;
  RuleType?: 'Host' | 'Switch';
  Priority?: number;
}

/** The actions an ACL (and a NetworkACL) may take. */
export const ACL_ACTIONS = ['Allow', 'Block'] as const;
export const ACL_DIRECTIONS = ['In', 'Out'] as const;
export const ACL_KEYS = [
  'Protocols',
  'Action',
  'Direction',
  'LocalAddresses',
  'RemoteAddresses',
  'LocalPorts',
  'RemotePorts',
  'RuleType',
  'Priority',
];

/** Structural check of ACL settings (shared with NetworkACL). */
export function checkAcl(c: Checker, p: string, s: Rec): void {
  if (s.Id !== undefined) c.string(at(p, 'Id'), s.Id);
  if (s.Protocols !== undefined)
    c.commaList(at(p, 'Protocols'), s.Protocols, isProtocolNumber, 'IP protocol numbers (6 TCP, 17 UDP, 1 ICMPv4, 58 ICMPv6)');
  c.oneOf(at(p, 'Action'), s.Action, ACL_ACTIONS);
  c.oneOf(at(p, 'Direction'), s.Direction, ACL_DIRECTIONS);
  for (const k of ['LocalAddresses', 'RemoteAddresses'] as const) {
    if (s[k] !== undefined) c.commaList(at(p, k), s[k], (x) => isIp(x) || isCidr(x), 'IP addresses or CIDR prefixes');
  }
  for (const k of ['LocalPorts', 'RemotePorts'] as const) {
    if (s[k] !== undefined) c.commaList(at(p, k), s[k], isPortOrRange, 'ports or port ranges (0-65535)');
  }
  if (s.RuleType !== undefined) c.oneOf(at(p, 'RuleType'), s.RuleType, ['Host', 'Switch']);
  if (s.Priority !== undefined) c.integer(at(p, 'Priority'), s.Priority, 0, UINT16);
}

export const acl: PolicyDescriptor = {
  type: 'ACL',
  keys: ACL_KEYS,
  check: checkAcl,
  hnsCheck: (s, refuse) => {
    const action = String(getCI(s, 'Action') ?? '');
    const dir = String(getCI(s, 'Direction') ?? '');
    if (!ACL_ACTIONS.some((a) => a.toLowerCase() === action.toLowerCase()))
      refuse.invalid(`Action must be Allow or Block, got "${action}"`);
    if (!ACL_DIRECTIONS.some((d) => d.toLowerCase() === dir.toLowerCase())) refuse.invalid(`Direction must be In or Out, got "${dir}"`);
  },
  v1: {
    type: 'ACL',
    toV2: (p) => {
      const g = (k: string) => getCI(p, k);
      const protocols = g('Protocols') ?? (g('Protocol') !== undefined ? String(g('Protocol')) : undefined);
      return {
        Type: 'ACL',
        Settings: clean({
          Id: g('Id'),
          Protocols: protocols,
          Action: g('Action'),
          Direction: g('Direction'),
          LocalAddresses: g('LocalAddresses'),
          RemoteAddresses: g('RemoteAddresses'),
          LocalPorts: g('LocalPorts') ?? str(g('LocalPort')),
          RemotePorts: g('RemotePorts') ?? str(g('RemotePort')),
          RuleType: g('RuleType'),
          Priority: g('Priority'),
        }),
      };
    },
    toV1: (s) => {
      const g = (k: string) => getCI(s, k);
      return clean({
        Type: 'ACL',
        Id: g('Id'),
        Protocols: g('Protocols'),
        Action: g('Action'),
        Direction: g('Direction'),
        LocalAddresses: g('LocalAddresses'),
        RemoteAddresses: g('RemoteAddresses'),
        LocalPorts: g('LocalPorts'),
        RemotePorts: g('RemotePorts'),
        RuleType: g('RuleType'),
        Priority: g('Priority'),
      });
    },
  },
};
