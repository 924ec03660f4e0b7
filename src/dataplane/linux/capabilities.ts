/**
 * What the linux data plane realizes (docs/linux.md "What is realized"). Anything else is refused naming
 * the field, never stored and silently ignored.
 */
import type { DataplaneCapabilities } from '../types';

export const LINUX_CAPABILITIES: DataplaneCapabilities = Object.freeze({
  namespaceId: 'netns-path',
  // The MAC the pod's interface reports is read back after attach (the document's MAC is what was asked for).
  macKnownBeforeAttach: false,
  macFormat: 'colon',
  policies: Object.freeze({
    // HostRoute needs nothing: pods reach the node through the bridge's gateway address.
    network: Object.freeze(['NetAdapterName', 'ProviderAddress', 'DrMacAddress', 'VxlanPort', 'RemoteSubnetRoute', 'HostRoute']),
    // ProviderAddress, SDNRoute and EncapOverhead are satisfied by the network itself (VTEP, the pod's
    // default route through the node, the bridge MTU); the others become nft rules or tc.
    endpoint: Object.freeze(['OutBoundNAT', 'PortMapping', 'ACL', 'QOS', 'ProviderAddress', 'SDNRoute', 'EncapOverhead']),
    loadBalancer: Object.freeze(['SourceAffinity', 'LocalRoutedVIP']),
  }),
  networkTypes: Object.freeze(['L2Bridge', 'Overlay', 'NAT', 'Transparent']),
  hnsV1: false,
  addressFamilies: Object.freeze(['IPv4'] as const),
  hostEndpoints: true,
  gatewayNeedsOwner: true,
  externalPlaceholderNetwork: false,
  providerAddressInDocument: true,
  realizesPackets: true,
});
