/**
 * What the linux data plane realizes (docs/linux.md "What is realized"). Anything else is refused naming
 * the field, never stored and silently ignored.
 */
import type { DataplaneCapabilities } from '../types';

export const LINUX_CAPABILITIES: DataplaneCapabilities = Object.freeze({
  namespaceId: 'netns-path',
  // The pod's veth peer (or macvlan) is created with the document's MAC (allocate.ts derives one from the
  // IPv4 address, as HNS does), so the MAC is known at create; without one the caller still reads it back.
  macKnownBeforeAttach: true,
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
