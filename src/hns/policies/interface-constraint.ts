/** InterfaceConstraint (network and endpoint): which host interface to use, by GUID, LUID, index, alias... */
import type { Uint64 } from '../schema';
import type { PolicyDescriptor } from './descriptor';
import { UINT32, UINT64, at } from './checker';

export interface InterfaceConstraintSettings {
  InterfaceGuid?: string;
  InterfaceLuid?: Uint64;
  InterfaceIndex?: number;
  InterfaceMediaType?: number;
  InterfaceAlias?: string;
  InterfaceDescription?: string;
}

export const interfaceConstraint: PolicyDescriptor = {
  type: 'InterfaceConstraint',
  keys: ['InterfaceGuid', 'InterfaceLuid', 'InterfaceIndex', 'InterfaceMediaType', 'InterfaceAlias', 'InterfaceDescription'],
  check: (c, p, s) => {
    if (s.InterfaceGuid !== undefined) c.guid(at(p, 'InterfaceGuid'), s.InterfaceGuid);
    if (s.InterfaceLuid !== undefined) c.integer(at(p, 'InterfaceLuid'), s.InterfaceLuid, 0, UINT64);
    if (s.InterfaceIndex !== undefined) c.integer(at(p, 'InterfaceIndex'), s.InterfaceIndex, 0, UINT32);
    if (s.InterfaceMediaType !== undefined) c.integer(at(p, 'InterfaceMediaType'), s.InterfaceMediaType, 0, UINT32);
    if (s.InterfaceAlias !== undefined) c.string(at(p, 'InterfaceAlias'), s.InterfaceAlias);
    if (s.InterfaceDescription !== undefined) c.string(at(p, 'InterfaceDescription'), s.InterfaceDescription);
  },
};
