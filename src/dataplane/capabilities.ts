/**
 * The capabilities of the Windows-shaped data planes (hcn, hns-v1, powershell and the emulator that
 * stands in for them): every HCN type, the HostComputeNamespace GUID as namespace name, HNS-assigned MACs.
 * The linux data plane states its own (linux/capabilities.ts).
 */
import { ENDPOINT_POLICY_TYPES, NETWORK_POLICY_TYPES, NETWORK_TYPES } from '../hns';
import type { DataplaneCapabilities } from './types';

export const WINDOWS_CAPABILITIES: DataplaneCapabilities = Object.freeze({
  namespaceId: 'guid',
  macKnownBeforeAttach: true,
  macFormat: 'dashed',
  policies: Object.freeze({
    network: NETWORK_POLICY_TYPES,
    endpoint: ENDPOINT_POLICY_TYPES,
    loadBalancer: Object.freeze(['DSR', 'IPv6', 'SourceAffinity', 'ILB', 'LocalRoutedVIP']),
  }),
  networkTypes: NETWORK_TYPES,
  hnsV1: true,
  addressFamilies: Object.freeze(['IPv4', 'IPv6'] as const),
  hostEndpoints: true,
  gatewayNeedsOwner: false,
  externalPlaceholderNetwork: true,
  realizesPackets: true,
  providerAddressInDocument: false,
  hostRoutes: true,
});

/** The emulator answers as Windows HNS does, with no packets behind it. */
export const EMULATOR_CAPABILITIES: DataplaneCapabilities = Object.freeze({ ...WINDOWS_CAPABILITIES, realizesPackets: false });

/**
 * HNS v1 (HNSCall): a load balancer is ELB policies, which carry only IsDSR and ILB (hcsshim ELBPolicy); an
 * IPv6 flag, session affinity (DistributionType) and LocalRoutedVIP/UseMux/PreserveDIP/VipExternalIP are refused.
 */
export const HNS_V1_CAPABILITIES: DataplaneCapabilities = Object.freeze({
  ...WINDOWS_CAPABILITIES,
  policies: Object.freeze({ ...WINDOWS_CAPABILITIES.policies, loadBalancer: Object.freeze(['DSR', 'ILB']) }),
  // The HNSCall data plane has no route table of its own: host-gw peers stay network policies there.
  hostRoutes: false,
});
