/** L4WFPPROXY (endpoint, HNS ≥ 13.2): WFP-based proxy redirection (service meshes). */
import type { PolicyDescriptor } from './descriptor';
import { at, describeValue, isPort } from './checker';

export interface L4WfpProxySettings {
  InboundProxyPort?: string;
  OutboundProxyPort?: string;
  FilterTuple?: {
    Protocols?: string;
    LocalAddresses?: string;
    RemoteAddresses?: string;
    LocalPorts?: string;
    RemotePorts?: string;
    Priority?: number;
  };
  UserSID?: string;
  InboundExceptions?: { IpAddressExceptions?: string[]; PortExceptions?: string[] };
  OutboundExceptions?: { IpAddressExceptions?: string[]; PortExceptions?: string[] };
}

export const l4WfpProxy: PolicyDescriptor = {
  type: 'L4WFPPROXY',
  keys: [
    'InboundProxyPort',
    'OutboundProxyPort',
    'FilterTuple',
    'UserSID',
    'InboundExceptions',
    'OutboundExceptions',
    'IpAddressExceptions',
    'PortExceptions',
  ],
  feature: 'L4WfpProxy',
  check: (c, p, s) => {
    for (const k of ['InboundProxyPort', 'OutboundProxyPort'] as const) {
      if (s[k] !== undefined && !(typeof s[k] === 'string' && isPort(s[k] as string)))
        c.add(at(p, k), `${describeValue(s[k])} is not a port string ("15001")`);
    }
    if (s.FilterTuple !== undefined) c.object(at(p, 'FilterTuple'), s.FilterTuple);
  },
};
