/**
 * VLAN (endpoint and subnet) and VSID (subnet): isolation IDs. v1 writes them flat under their own name
 * (`{"Type":"VLAN","VLAN":7}`); v1 network-level VSID/VLAN policies become per-subnet policies in v2.
 */
import { getCI } from '../../net/json';
import type { PolicyDescriptor } from './descriptor';
import { at } from './checker';
import { num } from './v1-form';

export interface IsolationSettings {
  IsolationId: number;
}
export type VlanSettings = IsolationSettings;

function isolation(type: 'VLAN' | 'VSID', max: number): PolicyDescriptor {
  return {
    type,
    keys: ['IsolationId'],
    check: (c, p, s) => c.integer(at(p, 'IsolationId'), s.IsolationId, 0, max),
    v1: {
      type,
      toV2: (p) => ({ Type: type, Settings: { IsolationId: num(getCI(p, type)) ?? 0 } }),
      toV1: (s) => ({ Type: type, [type]: getCI(s, 'IsolationId') }),
    },
  };
}

export const vlan = isolation('VLAN', 4095);
export const vsid = isolation('VSID', 16777215);
