/**
 * OutBoundNAT (endpoint): masquerade traffic leaving the cluster except to `Exceptions` (service CIDR, pod
 * CIDR, ...). With `Destinations` it is the loopback-DSR form (cni-plugins ApplyLoopbackDSRPolicy). Not gated here:
 * a user-supplied policy is sent as given, as the reference does; only the loopback-DSR policy the plugins add
 * themselves is gated on DSR support (src/cni/plugins, dsrSupported).
 */
import { getCI } from '../../net/json';
import type { PolicyDescriptor } from './descriptor';
import { UINT16, at } from './checker';
import { clean } from './v1-form';

export interface OutboundNatSettings {
  VirtualIP?: string;
  Exceptions?: string[];
  Destinations?: string[];
  Flags?: number;
  MaxPortPoolUsage?: number;
}

export const outboundNat: PolicyDescriptor = {
  type: 'OutBoundNAT',
  keys: ['VirtualIP', 'Exceptions', 'Destinations', 'Flags', 'MaxPortPoolUsage'],
  check: (c, p, s) => {
    if (s.VirtualIP !== undefined && s.VirtualIP !== '') c.ip(at(p, 'VirtualIP'), s.VirtualIP);
    for (const k of ['Exceptions', 'Destinations'] as const) {
      if (s[k] !== undefined && c.array(at(p, k), s[k])) (s[k] as unknown[]).forEach((x, i) => c.ipOrCidr(at(at(p, k), i), x));
    }
    if (s.Flags !== undefined) c.integer(at(p, 'Flags'), s.Flags, 0, 7);
    if (s.MaxPortPoolUsage !== undefined) c.integer(at(p, 'MaxPortPoolUsage'), s.MaxPortPoolUsage, 0, UINT16);
  },
  hnsCheck: (s, refuse) => {
    for (const key of ['Exceptions', 'Destinations']) {
      const v = getCI(s, key);
      if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string')))
        refuse.invalid(`${key} must be an array of strings`);
    }
  },
  example: { Exceptions: ['10.96.0.0/12'] },
  v1: {
    type: 'OutBoundNAT',
    toV2: (p) => {
      const g = (k: string) => getCI(p, k);
      return {
        Type: 'OutBoundNAT',
        Settings: clean({
          VirtualIP: g('VIP') as string | undefined,
          Exceptions: g('ExceptionList') as string[] | undefined,
          Destinations: g('Destinations') as string[] | undefined,
          MaxPortPoolUsage: g('MaxPortPoolUsage') as number | undefined,
        }),
      };
    },
    toV1: (s) => {
      const g = (k: string) => getCI(s, k);
      return clean({
        Type: 'OutBoundNAT',
        VIP: g('VirtualIP'),
        ExceptionList: g('Exceptions'),
        Destinations: g('Destinations'),
      });
    },
    // hcsshim's v1 OutboundNatPolicy: VIP, ExceptionList, Destinations only.
    unsupported: (s) => {
      const flags = getCI(s, 'Flags');
      if (flags !== undefined && flags !== 0) return 'Flags (the v1 OutBoundNAT policy has no flags)';
      if (getCI(s, 'MaxPortPoolUsage') !== undefined) return 'MaxPortPoolUsage (the v1 OutBoundNAT policy has no port pool limit)';
      return undefined;
    },
  },
};
