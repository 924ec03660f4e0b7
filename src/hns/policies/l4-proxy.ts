/**
 * L4Proxy (network and endpoint). Sources disagree on two keys: hcsshim writes `Exceptions` and `OutboundNAT`,
 * HNS_Schema and SDN-psm1 `ExceptionList` and `OutboundNat`; both are accepted and neither is re-cased.
 */
import { getCI } from '../../net/json';
import type { PolicyDescriptor } from './descriptor';
import type { Checker, Rec } from './checker';
import { at, describeValue, isPort } from './checker';
import { clean } from './v1-form';

export interface L4ProxySettings {
  IP?: string;
  Port?: string | number;
  Protocol?: number;
  ExceptionList?: string[];
  Exceptions?: string[];
  Destination?: string;
  OutboundNat?: boolean;
  OutboundNAT?: boolean;
}

function check(c: Checker, p: string, s: Rec): void {
  if (s.IP !== undefined && s.IP !== '') c.ip(at(p, 'IP'), s.IP);
  if (s.Port !== undefined) {
    const port = typeof s.Port === 'string' ? s.Port : String(s.Port);
    if (!isPort(port)) c.add(at(p, 'Port'), `${describeValue(s.Port)} is not a port (0-65535)`);
  }
  if (s.Protocol !== undefined) c.integer(at(p, 'Protocol'), s.Protocol, 0, 255);
  for (const k of ['ExceptionList', 'Exceptions'] as const) {
    if (s[k] !== undefined && c.array(at(p, k), s[k])) (s[k] as unknown[]).forEach((x, i) => c.ipOrCidr(at(at(p, k), i), x));
  }
  if (s.Destination !== undefined && s.Destination !== '') c.ipOrCidr(at(p, 'Destination'), s.Destination);
}

export const l4Proxy: PolicyDescriptor = {
  type: 'L4Proxy',
  keys: ['IP', 'Port', 'Protocol', 'ExceptionList', 'Exceptions', 'Destination'],
  feature: 'L4Proxy',
  // hcsshim gates only the network L4Proxy policy on the feature (L4proxyPolicySupported); HNS takes the
  // endpoint policy (hcnproxyctrl, L4WFPPROXY's predecessor) on every version that has the type.
  featureScopes: ['network'],
  check,
  v1: {
    type: 'PROXY',
    toV2: (p) => {
      const g = (k: string) => getCI(p, k);
      return {
        Type: 'L4Proxy',
        Settings: clean({
          IP: g('IP'),
          Port: g('Port'),
          Protocol: g('Protocol'),
          ExceptionList: g('ExceptionList'),
          Destination: g('Destination'),
          OutboundNat: g('OutboundNat'),
        }),
      };
    },
    toV1: (s) => {
      const g = (k: string) => getCI(s, k);
      return clean({
        Type: 'PROXY',
        IP: g('IP'),
        Port: g('Port') === undefined ? undefined : String(g('Port')),
        ExceptionList: g('ExceptionList') ?? g('Exceptions'),
        Destination: g('Destination'),
        OutboundNat: g('OutboundNat') ?? g('OutboundNAT'),
      });
    },
    // hcsshim's v1 ProxyPolicy: IP, Port (a string), ExceptionList, Destination, OutboundNat; no Protocol.
    unsupported: (s) => (getCI(s, 'Protocol') !== undefined ? 'Protocol (the v1 PROXY policy has no protocol)' : undefined),
  },
};
