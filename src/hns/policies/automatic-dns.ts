/** AutomaticDNS (network). */
import { getCI } from '../../net/json';
import type { PolicyDescriptor } from './descriptor';
import { at } from './checker';

export interface AutomaticDnsSettings {
  Enable?: boolean;
}

export const automaticDns: PolicyDescriptor = {
  type: 'AutomaticDNS',
  keys: ['Enable'],
  check: (c, p, s) => {
    if (s.Enable !== undefined) c.boolean(at(p, 'Enable'), s.Enable);
  },
  v1Network: {
    fromV1: (n) => {
      const v = getCI(n, 'AutomaticDNS');
      return v !== undefined ? { Enable: !!v } : undefined;
    },
    toV1: (s, out) => void (out.AutomaticDNS = !!getCI(s, 'Enable')),
  },
};
