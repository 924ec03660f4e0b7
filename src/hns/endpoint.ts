/** HostComputeEndpoint (HCN v2); policies in src/hns/policies/, see docs/hcn-model.md. */
import type { Dns, HcnBase, Route } from './schema';
import type { EndpointPolicy } from './policy';

export interface IpConfig {
  IpAddress?: string;
  PrefixLength?: number;
  IpSubnetId?: string;
}

/** Endpoint Flags bitmask. */
export const EndpointFlags = {
  None: 0,
  RemoteEndpoint: 1,
  DisableInterComputeCommunication: 2,
  EnableMirroring: 4,
  EnableLowInterfaceMetric: 8,
  OverrideDNSServerOrder: 16,
  EnableDhcp: 32,
} as const;

export interface HostComputeEndpoint extends HcnBase {
  HostComputeNetwork?: string;
  /** Read-only: set by HNS when the endpoint is added to a namespace; refused on create. */
  HostComputeNamespace?: string;
  Policies?: EndpointPolicy[];
  IpConfigurations?: IpConfig[];
  Dns?: Dns;
  Routes?: Route[];
  MacAddress?: string;
  Flags?: number;
}
