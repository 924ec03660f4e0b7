/**
 * ProviderAddress (network and endpoint): the host's underlay address. HNS publishes it on Overlay and
 * L2Bridge networks (flannel reads it); on remote Overlay endpoints it names the peer host (v1 `PA`).
 */
import { parseIp } from '../../net/ip';
import { getCI } from '../../net/json';
import type { PolicyDescriptor } from './descriptor';
import { at } from './checker';

export interface ProviderAddressSettings {
  ProviderAddress: string;
}

export const providerAddress: PolicyDescriptor = {
  type: 'ProviderAddress',
  keys: ['ProviderAddress'],
  check: (c, p, s) => c.ip(at(p, 'ProviderAddress'), s.ProviderAddress),
  hnsCheck: (s, refuse) => {
    if (!parseIp(getCI(s, 'ProviderAddress'))) refuse.invalid('ProviderAddress must be an IP address');
  },
  v1: {
    type: 'PA',
    toV2: (p) => ({ Type: 'ProviderAddress', Settings: { ProviderAddress: getCI(p, 'PA') as string } }),
    toV1: (s) => ({ Type: 'PA', PA: getCI(s, 'ProviderAddress') }),
  },
  v1Network: {
    fromV1: (n) => {
      const v = getCI(n, 'ManagementIP');
      return v ? { ProviderAddress: String(v) } : undefined;
    },
    toV1: (s, out) => void (out.ManagementIP = getCI(s, 'ProviderAddress')),
  },
};
