/** PortMapping (endpoint): a host port forwarded to the endpoint (v1 `NAT`); Flags are NatFlags. */
import { parseIp } from '../../net/ip';
import { getCI } from '../../net/json';
import type { PolicyDescriptor } from './descriptor';
import { UINT16, at } from './checker';
import { clean, num, protocolName, protocolNumber } from './v1-form';

export interface PortMappingSettings {
  Protocol: number;
  InternalPort: number;
  ExternalPort: number;
  VIP?: string;
  Flags?: number;
}

const isPortNumber = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;

export const portMapping: PolicyDescriptor = {
  type: 'PortMapping',
  keys: ['Protocol', 'InternalPort', 'ExternalPort', 'VIP', 'Flags'],
  check: (c, p, s) => {
    c.integer(at(p, 'Protocol'), s.Protocol, 0, 255);
    c.integer(at(p, 'InternalPort'), s.InternalPort, 1, UINT16);
    c.integer(at(p, 'ExternalPort'), s.ExternalPort, 0, UINT16);
    if (s.VIP !== undefined) c.ip(at(p, 'VIP'), s.VIP, true);
    if (s.Flags !== undefined) c.integer(at(p, 'Flags'), s.Flags, 0, 7);
  },
  hnsCheck: (s, refuse) => {
    const proto = getCI(s, 'Protocol');
    const internal = getCI(s, 'InternalPort');
    const external = getCI(s, 'ExternalPort');
    if (typeof proto !== 'number' || !Number.isInteger(proto) || proto < 0 || proto > 255)
      refuse.invalid(`Protocol must be a protocol number (6 TCP, 17 UDP), got ${JSON.stringify(proto)}`);
    if (!internal) refuse.fail('HCN_E_INVALID_INTERNAL_PORT', '(PortMapping InternalPort must be set)');
    if (!isPortNumber(internal)) refuse.invalid('InternalPort must be 1-65535');
    if (external !== undefined && external !== 0 && !isPortNumber(external)) refuse.invalid('ExternalPort must be 0-65535');
    const vip = String(getCI(s, 'VIP') ?? '');
    if (vip !== '' && !parseIp(vip)) refuse.invalid(`VIP "${vip}" is not an IP address`);
  },
  v1: {
    type: 'NAT',
    toV2: (p) => {
      const g = (k: string) => getCI(p, k);
      const proto = g('Protocol');
      const n = protocolNumber(proto);
      return {
        Type: 'PortMapping',
        Settings: clean({
          Protocol: n ?? proto,
          InternalPort: g('InternalPort'),
          ExternalPort: g('ExternalPort'),
          VIP: g('VIP'),
          Flags: g('ExternalPortReserved') ? 4 : undefined,
        }),
      };
    },
    toV1: (s) => {
      const g = (k: string) => getCI(s, k);
      const proto = g('Protocol');
      const flags = num(g('Flags')) ?? 0;
      // hcsshim's v1 NatPolicy: Type, Protocol, InternalPort, ExternalPort, ExternalPortReserved (no VIP).
      return clean({
        Type: 'NAT',
        Protocol: typeof proto === 'number' ? protocolName(proto) : proto,
        InternalPort: g('InternalPort'),
        ExternalPort: g('ExternalPort'),
        ExternalPortReserved: flags & 4 ? true : undefined,
      });
    },
    unsupported: (s) => {
      const flags = num(getCI(s, 'Flags')) ?? 0;
      if (flags & 1) return 'Flags (LocalRoutedVip: the v1 NAT policy has no flags but ExternalPortReserved)';
      if (flags & 2) return 'Flags (IPv6: the v1 NAT policy has no flags but ExternalPortReserved)';
      const vip = getCI(s, 'VIP');
      if (vip !== undefined && vip !== '') return 'VIP (the v1 NAT policy has no VIP)';
      return undefined;
    },
  },
};
