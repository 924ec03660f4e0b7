/** InterfaceParameters (endpoint, HNS_Schema 2.4): the endpoint's MTU. */
import type { PolicyDescriptor } from './descriptor';
import { UINT16, at } from './checker';

export interface InterfaceParametersSettings {
  Mtu: number;
}

export const interfaceParameters: PolicyDescriptor = {
  type: 'InterfaceParameters',
  keys: ['Mtu'],
  check: (c, p, s) => c.integer(at(p, 'Mtu'), s.Mtu, 68, UINT16),
};
