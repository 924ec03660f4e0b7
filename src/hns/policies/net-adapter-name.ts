/** NetAdapterName (network): binds the network to a host adapter by name (flannel's addNetAdapterName). */
import { getCI } from '../../net/json';
import type { PolicyDescriptor } from './descriptor';
import { at } from './checker';

export interface NetAdapterNameSettings {
  NetworkAdapterName: string;
}

export const netAdapterName: PolicyDescriptor = {
  type: 'NetAdapterName',
  keys: ['NetworkAdapterName'],
  check: (c, p, s) => void c.string(at(p, 'NetworkAdapterName'), s.NetworkAdapterName, true),
  hnsCheck: (s, refuse) => {
    if (typeof getCI(s, 'NetworkAdapterName') !== 'string' || getCI(s, 'NetworkAdapterName') === '')
      refuse.invalid('NetworkAdapterName must name an adapter');
  },
  v1Network: {
    fromV1: (n) => {
      const v = getCI(n, 'NetworkAdapterName');
      return v ? { NetworkAdapterName: String(v) } : undefined;
    },
    toV1: (s, out) => void (out.NetworkAdapterName = getCI(s, 'NetworkAdapterName')),
  },
};
