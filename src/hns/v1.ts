/**
 * HNS v1 documents (vmcompute.dll!HNSCall), docs/hcn-model.md "Queries and HNS v1".
 * v1 policies are flat (`Type` + fields, no `Settings`). Conversion to and from v2 lives in convert.ts.
 */

export interface HnsV1Subnet {
  ID?: string;
  AddressPrefix?: string;
  GatewayAddress?: string;
  Policies?: HnsV1Policy[];
  [k: string]: unknown;
}

export interface HnsV1Policy {
  Type: string;
  [k: string]: unknown;
}

export interface HnsV1Network {
  ID?: string;
  Name?: string;
  Type?: string;
  NetworkAdapterName?: string;
  SourceMac?: string;
  Policies?: HnsV1Policy[];
  MacPools?: { StartMacAddress: string; EndMacAddress: string }[];
  Subnets?: HnsV1Subnet[];
  DNSSuffix?: string;
  DNSServerList?: string;
  DNSServerCompartment?: number;
  ManagementIP?: string;
  DrMacAddress?: string;
  AutomaticDNS?: boolean;
  Flags?: number;
  [k: string]: unknown;
}

export interface HnsV1Namespace {
  ID?: string;
  IsDefault?: boolean;
  ResourceList?: unknown[];
  CompartmentId?: number;
}

/** v1 endpoint State: 0 Uninitialized, 1 Created, 2 Attached, 3 AttachedSharing, 4 Detached, 5 Degraded, 6 Destroyed. */
export interface HnsV1Endpoint {
  ID?: string;
  Name?: string;
  VirtualNetwork?: string;
  VirtualNetworkName?: string;
  Policies?: HnsV1Policy[];
  MacAddress?: string;
  IPAddress?: string;
  IPv6Address?: string;
  DNSSuffix?: string;
  DNSServerList?: string;
  DNSDomain?: string;
  GatewayAddress?: string;
  GatewayAddressV6?: string;
  EnableInternalDNS?: boolean;
  DisableICC?: boolean;
  PrefixLength?: number;
  IPv6PrefixLength?: number;
  IsRemoteEndpoint?: boolean;
  EnableLowMetric?: boolean;
  Namespace?: HnsV1Namespace;
  EncapOverhead?: number;
  SharedContainers?: string[];
  State?: number;
  [k: string]: unknown;
}

/** v1 load balancers and routes are policy lists. */
export interface HnsV1PolicyList {
  ID?: string;
  References?: string[];
  Policies?: HnsV1Policy[];
  [k: string]: unknown;
}

/** Every HNSCall response: `{Success, Error, Output}` (HNS_Schema adds ErrorCode). */
export interface HnsV1Response<T = unknown> {
  Success: boolean;
  Error?: string;
  ErrorCode?: number;
  Output?: T;
}

/** Attach/detach request bodies: `{ContainerId, SystemType:"Container"}`, `{SystemType:"Host", CompartmentId:1}`, ... */
export interface HnsV1AttachRequest {
  ContainerId?: string;
  SystemType?: 'Container' | 'Host' | 'VirtualMachine';
  CompartmentId?: number;
  VirtualNicName?: string;
}
