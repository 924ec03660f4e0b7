/**
 * Every network, endpoint, subnet and load-balancer policy type HCN v2 defines, with its settings
 * (../shared/reference/hcn-api.md §2.4, §3.2–3.4, §4.1). Type strings use hcsshim's spelling, which is
 * what we send; HNS matches them case-insensitively, and so does `policyTypeIs`.
 */
import type { HcnPolicy, Uint64 } from './schema';

// ---- network policies -------------------------------------------------------------------------
export const NETWORK_POLICY_TYPES = [
  'SourceMacAddress', 'NetAdapterName', 'InterfaceConstraint', 'VSwitchExtension', 'ProviderAddress',
  'DrMacAddress', 'AutomaticDNS', 'RemoteSubnetRoute', 'VxlanPort', 'HostRoute', 'SetPolicy', 'L4Proxy',
  'LayerConstraint', 'NetworkACL',
] as const;
export type NetworkPolicyType = (typeof NETWORK_POLICY_TYPES)[number];

export interface SourceMacAddressSettings { SourceMacAddress: string }
export interface NetAdapterNameSettings { NetworkAdapterName: string }
export interface InterfaceConstraintSettings {
  InterfaceGuid?: string; InterfaceLuid?: Uint64; InterfaceIndex?: number; InterfaceMediaType?: number;
  InterfaceAlias?: string; InterfaceDescription?: string;
}
export interface VSwitchExtensionSettings { ExtensionID: string; Enable?: boolean }
export interface ProviderAddressSettings { ProviderAddress: string }
export interface DrMacAddressSettings { Address: string }
export interface AutomaticDnsSettings { Enable?: boolean }
export interface RemoteSubnetRouteSettings {
  DestinationPrefix: string; IsolationId: number; ProviderAddress: string; DistributedRouterMacAddress: string;
}
export interface VxlanPortSettings { Port: number }
export type HostRouteSettings = Record<string, never>;
export interface SetPolicySettings { Id: string; Name?: string; PolicyType: 'IPSET' | 'NESTEDIPSET'; Values: string }
export interface L4ProxySettings {
  IP?: string; Port?: string | number; Protocol?: number; ExceptionList?: string[]; Exceptions?: string[];
  Destination?: string; OutboundNat?: boolean; OutboundNAT?: boolean;
}
export interface LayerConstraintSettings { LayerId: string }

export type NetworkPolicy =
  | HcnPolicy<'SourceMacAddress', SourceMacAddressSettings>
  | HcnPolicy<'NetAdapterName', NetAdapterNameSettings>
  | HcnPolicy<'InterfaceConstraint', InterfaceConstraintSettings>
  | HcnPolicy<'VSwitchExtension', VSwitchExtensionSettings>
  | HcnPolicy<'ProviderAddress', ProviderAddressSettings>
  | HcnPolicy<'DrMacAddress', DrMacAddressSettings>
  | HcnPolicy<'AutomaticDNS', AutomaticDnsSettings>
  | HcnPolicy<'RemoteSubnetRoute', RemoteSubnetRouteSettings>
  | HcnPolicy<'VxlanPort', VxlanPortSettings>
  | HcnPolicy<'HostRoute', HostRouteSettings>
  | HcnPolicy<'SetPolicy', SetPolicySettings>
  | HcnPolicy<'L4Proxy', L4ProxySettings>
  | HcnPolicy<'LayerConstraint', LayerConstraintSettings>
  | HcnPolicy<'NetworkACL', AclPolicySettings>
  | HcnPolicy<string, Record<string, unknown>>;

// ---- subnet policies --------------------------------------------------------------------------
export const SUBNET_POLICY_TYPES = ['VSID', 'VLAN'] as const;
export interface IsolationSettings { IsolationId: number }
export type SubnetPolicy = HcnPolicy<'VSID' | 'VLAN', IsolationSettings>;

// ---- endpoint policies ------------------------------------------------------------------------
export const ENDPOINT_POLICY_TYPES = [
  'PortMapping', 'ACL', 'QOS', 'L2Driver', 'OutBoundNAT', 'SDNRoute', 'L4Proxy', 'L4WFPPROXY', 'PortName',
  'EncapOverhead', 'Iov', 'ProviderAddress', 'InterfaceConstraint', 'TierAcl', 'VLAN', 'InterfaceParameters',
  'Encryption',
] as const;
export type EndpointPolicyType = (typeof ENDPOINT_POLICY_TYPES)[number];

/** NatFlags (PortMapping, OutBoundNAT). */
export const NatFlags = { None: 0, LocalRoutedVip: 1, IPv6: 2, ExternalPortReserved: 4 } as const;

export interface PortMappingSettings {
  Protocol: number; InternalPort: number; ExternalPort: number; VIP?: string; Flags?: number;
}
export interface AclPolicySettings {
  Id?: string;
  Protocols?: string;
  Action: 'Allow' | 'Block' | 'Pass';
  Direction: 'In' | 'Out';
  LocalAddresses?: string;
  RemoteAddresses?: string;
  LocalPorts?: string;
  RemotePorts?: string;
  RuleType?: 'Host' | 'Switch';
  Priority?: number;
}
export interface QosSettings { MaximumOutgoingBandwidthInBytes: Uint64 }
export interface OutboundNatSettings {
  VirtualIP?: string; Exceptions?: string[]; Destinations?: string[]; Flags?: number; MaxPortPoolUsage?: number;
}
export interface SdnRouteSettings {
  DestinationPrefix: string; NextHop?: string; NeedEncap?: boolean; AutomaticEndpointMonitor?: boolean;
}
export interface L4WfpProxySettings {
  InboundProxyPort?: string; OutboundProxyPort?: string;
  FilterTuple?: { Protocols?: string; LocalAddresses?: string; RemoteAddresses?: string; LocalPorts?: string; RemotePorts?: string; Priority?: number };
  UserSID?: string;
  InboundExceptions?: { IpAddressExceptions?: string[]; PortExceptions?: string[] };
  OutboundExceptions?: { IpAddressExceptions?: string[]; PortExceptions?: string[] };
}
export interface PortNameSettings { Name: string }
export interface EncapOverheadSettings { Overhead: number }
export interface IovSettings { IovOffloadWeight?: number; QueuePairsRequested?: number; InterruptModeration?: number }
export interface TierAclRule {
  Id?: string; Protocols?: string; TierAclRuleAction: 'Allow' | 'Block' | 'Pass';
  LocalAddresses?: string; RemoteAddresses?: string; LocalPorts?: string; RemotePorts?: string; Priority?: number;
}
export interface TierAclSettings { Name: string; Direction: 'In' | 'Out'; Order?: number; TierAclRules: TierAclRule[] }
export interface VlanSettings { IsolationId: number }
export interface InterfaceParametersSettings { Mtu: number }

export type EndpointPolicy =
  | HcnPolicy<'PortMapping', PortMappingSettings>
  | HcnPolicy<'ACL', AclPolicySettings>
  | HcnPolicy<'QOS', QosSettings>
  | HcnPolicy<'L2Driver', Record<string, unknown>>
  | HcnPolicy<'OutBoundNAT', OutboundNatSettings>
  | HcnPolicy<'SDNRoute', SdnRouteSettings>
  | HcnPolicy<'L4Proxy', L4ProxySettings>
  | HcnPolicy<'L4WFPPROXY', L4WfpProxySettings>
  | HcnPolicy<'PortName', PortNameSettings>
  | HcnPolicy<'EncapOverhead', EncapOverheadSettings>
  | HcnPolicy<'Iov', IovSettings>
  | HcnPolicy<'ProviderAddress', ProviderAddressSettings>
  | HcnPolicy<'InterfaceConstraint', InterfaceConstraintSettings>
  | HcnPolicy<'TierAcl', TierAclSettings>
  | HcnPolicy<'VLAN', VlanSettings>
  | HcnPolicy<'InterfaceParameters', InterfaceParametersSettings>
  | HcnPolicy<string, Record<string, unknown>>;

/** HNS compares policy type strings case-insensitively (flannel sends "SDNROUTE" and it works). */
export function policyTypeIs(p: { Type?: unknown } | undefined, type: string): boolean {
  return typeof p?.Type === 'string' && p.Type.toLowerCase() === type.toLowerCase();
}

export function findPolicies<P extends { Type?: unknown }>(policies: P[] | undefined, type: string): P[] {
  return (policies ?? []).filter((p) => policyTypeIs(p, type));
}
