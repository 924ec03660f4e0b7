/** HostComputeLoadBalancer (HCN v2); see docs/hcn-model.md. */
import type { HcnBase } from './schema';

/** LB Flags: 1 = DSR, 2 = IPv6. */
export const LoadBalancerFlags = { None: 0, EnableDirectServerReturn: 1, IPv6: 2 } as const;

/** Port-mapping Flags. */
export const LoadBalancerPortMappingFlags = {
  None: 0,
  ILB: 1,
  LocalRoutedVIP: 2,
  UseMux: 4,
  PreserveDIP: 8,
  VipExternalIP: 16,
} as const;

/** DistributionType: 0 per-connection, 1 source IP+protocol, 2 source IP (session affinity, HNS ≥ 12.0). */
export const LoadBalancerDistribution = { None: 0, SourceIPProtocol: 1, SourceIP: 2 } as const;

export interface LoadBalancerPortMapping {
  Protocol: number;
  InternalPort: number;
  ExternalPort: number;
  DistributionType?: number;
  Flags?: number;
}

export interface HostComputeLoadBalancer extends HcnBase {
  HostComputeEndpoints?: string[];
  SourceVIP?: string;
  /** Empty means every host address (NodePort style). */
  FrontendVIPs?: string[];
  PortMappings?: LoadBalancerPortMapping[];
  Flags?: number;
  HostComputeNetwork?: string;
}
