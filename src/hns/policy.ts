/**
 * The policy document types: `{Type, Settings}` unions over the types the registry (src/hns/policies/) knows,
 * each settings type defined beside its descriptor. Type strings use hcsshim's spelling, which is what we
 * send; HNS matches them case-insensitively, and so does `policyTypeIs`.
 */
import type { HcnPolicy } from './schema';
import { policyTypesOf } from './policies';
import type { SourceMacAddressSettings } from './policies/source-mac-address';
import type { NetAdapterNameSettings } from './policies/net-adapter-name';
import type { InterfaceConstraintSettings } from './policies/interface-constraint';
import type { VSwitchExtensionSettings } from './policies/vswitch-extension';
import type { ProviderAddressSettings } from './policies/provider-address';
import type { DrMacAddressSettings } from './policies/dr-mac-address';
import type { AutomaticDnsSettings } from './policies/automatic-dns';
import type { RemoteSubnetRouteSettings } from './policies/remote-subnet-route';
import type { VxlanPortSettings } from './policies/vxlan-port';
import type { HostRouteSettings } from './policies/host-route';
import type { SetPolicySettings } from './policies/set-policy';
import type { L4ProxySettings } from './policies/l4-proxy';
import type { LayerConstraintSettings } from './policies/layer-constraint';
import type { AclPolicySettings } from './policies/acl';
import type { PortMappingSettings } from './policies/port-mapping';
import type { QosSettings } from './policies/qos';
import type { OutboundNatSettings } from './policies/outbound-nat';
import type { SdnRouteSettings } from './policies/sdn-route';
import type { L4WfpProxySettings } from './policies/l4-wfp-proxy';
import type { PortNameSettings } from './policies/port-name';
import type { EncapOverheadSettings } from './policies/encap-overhead';
import type { IovSettings } from './policies/iov';
import type { TierAclSettings, TierAclRule } from './policies/tier-acl';
import type { IsolationSettings, VlanSettings } from './policies/isolation';
import type { InterfaceParametersSettings } from './policies/interface-parameters';

export type {
  SourceMacAddressSettings,
  NetAdapterNameSettings,
  InterfaceConstraintSettings,
  VSwitchExtensionSettings,
  ProviderAddressSettings,
  DrMacAddressSettings,
  AutomaticDnsSettings,
  RemoteSubnetRouteSettings,
  VxlanPortSettings,
  HostRouteSettings,
  SetPolicySettings,
  L4ProxySettings,
  LayerConstraintSettings,
  AclPolicySettings,
  PortMappingSettings,
  QosSettings,
  OutboundNatSettings,
  SdnRouteSettings,
  L4WfpProxySettings,
  PortNameSettings,
  EncapOverheadSettings,
  IovSettings,
  TierAclSettings,
  TierAclRule,
  IsolationSettings,
  VlanSettings,
  InterfaceParametersSettings,
};

// ---- network policies -------------------------------------------------------------------------
export const NETWORK_POLICY_TYPES: readonly string[] = policyTypesOf('network');
export type NetworkPolicyType = string;

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
export const SUBNET_POLICY_TYPES: readonly string[] = policyTypesOf('subnet');
export type SubnetPolicy = HcnPolicy<'VSID' | 'VLAN', IsolationSettings>;

// ---- endpoint policies ------------------------------------------------------------------------
export const ENDPOINT_POLICY_TYPES: readonly string[] = policyTypesOf('endpoint');
export type EndpointPolicyType = string;

/** NatFlags (PortMapping, OutBoundNAT). */
export const NatFlags = { None: 0, LocalRoutedVip: 1, IPv6: 2, ExternalPortReserved: 4 } as const;

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
