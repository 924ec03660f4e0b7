/** VxlanPort (network, HNS ≥ 10.3): the UDP port of the overlay (hcsshim's comment says TCP; it is UDP). */
import { getCI } from '../../net/json';
import type { PolicyDescriptor } from './descriptor';
import { UINT16, at } from './checker';

export interface VxlanPortSettings {
  Port: number;
}

export const vxlanPort: PolicyDescriptor = {
  type: 'VxlanPort',
  keys: ['Port'],
  feature: 'VxlanPort',
  check: (c, p, s) => c.integer(at(p, 'Port'), s.Port, 1, UINT16),
  hnsCheck: (s, refuse) => {
    const port = getCI(s, 'Port');
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) refuse.invalid('Port must be a UDP port 1-65535');
  },
};
