/** SourceMacAddress (network): the MAC the network's traffic is sourced from. */
import { getCI } from '../../net/json';
import type { PolicyDescriptor } from './descriptor';
import { at } from './checker';

export interface SourceMacAddressSettings {
  SourceMacAddress: string;
}

export const sourceMacAddress: PolicyDescriptor = {
  type: 'SourceMacAddress',
  keys: ['SourceMacAddress'],
  check: (c, p, s) => c.mac(at(p, 'SourceMacAddress'), s.SourceMacAddress),
  v1Network: {
    fromV1: (n) => {
      const v = getCI(n, 'SourceMac');
      return v ? { SourceMacAddress: String(v) } : undefined;
    },
    toV1: (s, out) => void (out.SourceMac = getCI(s, 'SourceMacAddress')),
  },
};
