/** DrMacAddress (network): the distributed router MAC HNS publishes on Overlay networks (flannel's VTEP MAC). */
import { isMac } from '../../net/mac';
import { getCI } from '../../net/json';
import type { PolicyDescriptor } from './descriptor';
import { at } from './checker';

export interface DrMacAddressSettings {
  Address: string;
}

export const drMacAddress: PolicyDescriptor = {
  type: 'DrMacAddress',
  keys: ['Address'],
  check: (c, p, s) => c.mac(at(p, 'Address'), s.Address),
  hnsCheck: (s, refuse) => {
    if (!isMac(getCI(s, 'Address'))) refuse.invalid('Address must be a MAC address');
  },
  v1Network: {
    fromV1: (n) => {
      const v = getCI(n, 'DrMacAddress');
      return v ? { Address: String(v) } : undefined;
    },
    toV1: (s, out) => void (out.DrMacAddress = getCI(s, 'Address')),
  },
};
