/** HostComputeNetwork (HCN v2); policies in src/hns/policies/, see docs/hcn-model.md. */
import type { Dns, HcnBase, Route } from './schema';
import type { NetworkPolicy, SubnetPolicy } from './policy';

/** NetworkMode strings; HNS omits `Type` from query output when it is NAT (value 0). */
export const NETWORK_TYPES = [
  'NAT',
  'ICS',
  'Transparent',
  'L2Bridge',
  'L2Tunnel',
  'Overlay',
  'Private',
  'Internal',
  'Mirrored',
  'Infiniband',
  'ConstrainedICS',
] as const;
export type NetworkType = (typeof NETWORK_TYPES)[number];

/** NetworkFlags bitmask (number on the wire). */
export const NetworkFlags = {
  None: 0,
  EnableDnsProxy: 1,
  EnableDhcpServer: 2,
  EnableMirroring: 4,
  EnableNonPersistent: 8,
  DisableHostPort: 1024,
  EnableIov: 8192,
} as const;

export interface MacRange {
  StartMacAddress: string;
  EndMacAddress: string;
}
export interface MacPool {
  Ranges?: MacRange[];
}

export interface IpSubnet {
  ID?: string;
  IpAddressPrefix?: string;
  Flags?: number;
}

/** Subnet Flags: 1 = DoNotReserveGatewayAddress. */
export interface Subnet {
  ID?: string;
  IpAddressPrefix?: string;
  Policies?: SubnetPolicy[];
  Routes?: Route[];
  IpSubnets?: IpSubnet[];
  Flags?: number;
}

export interface Ipam {
  Type?: 'Static' | 'Dhcp';
  Subnets?: Subnet[];
}

export interface HostComputeNetwork extends HcnBase {
  Type?: NetworkType | string;
  Policies?: NetworkPolicy[];
  MacPool?: MacPool;
  Dns?: Dns;
  Ipams?: Ipam[];
  Flags?: number;
}
