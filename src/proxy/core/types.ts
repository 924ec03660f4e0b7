/**
 * What the proxy core needs to know about the node and what it answers. Pure data: the sync layer reads
 * the facts from the host network service, the core turns Services + EndpointSlices into the documents.
 */
import type { HnsFeatures, HostComputeLoadBalancer } from '../../hns';

export type ProxyNetworkType = 'L2Bridge' | 'Overlay';

/** A RemoteSubnetRoute of the overlay network: pods of `prefix` live behind `providerAddress`. */
export interface RemoteSubnet {
  prefix: string;
  providerAddress: string;
}

export interface NodeFacts {
  /** Kubernetes node name; an EndpointSlice endpoint is local when its nodeName equals this. */
  nodeName: string;
  /** The node's own addresses; the first IPv4 one is the node IP (SourceVIP fallback, PA of service VIPs). */
  nodeIPs: string[];
  networkType: ProxyNetworkType;
  networkId: string;
  /** Overlay: an address of the node's pod subnet held by a local endpoint (kube-proxy --source-vip). */
  sourceVip?: string;
  /** Overlay: MAC of the host interface, for the per-service VIP endpoint (kube-proxy hostMac). */
  hostMac?: string;
  features: HnsFeatures;
  /** Local (non-remote) HNS endpoints of the network: pod IP → endpoint ID. */
  localEndpoints: ReadonlyMap<string, string>;
  /** Overlay: the network's RemoteSubnetRoute policies. */
  remoteSubnets: RemoteSubnet[];
  /** kube-proxy `enableDSR`: DSR on ClusterIP load balancers too (off by default, as in kube-proxy). */
  enableDSR?: boolean;
}

export type LoadBalancerKind = 'ClusterIP' | 'NodePort' | 'ExternalIP' | 'LoadBalancerIngress';

/** A backend of a load balancer: an address and whether it is a pod on this node. */
export interface Backend {
  ip: string;
  local: boolean;
}

/**
 * One HNS load balancer the service needs. `template` is the document without its backends; the backends
 * are addresses, because remote endpoints get their HNS IDs only once they exist (renderLoadBalancer).
 */
export interface DesiredLoadBalancer {
  /** Deterministic identity: `<ns>/<name>:<port name>/<protocol>:<kind>[:<vip>]`. */
  identity: string;
  /** `<ns>/<name>` of the Service. */
  service: string;
  kind: LoadBalancerKind;
  backends: Backend[];
  template: Omit<HostComputeLoadBalancer, 'HostComputeEndpoints'>;
}

/** An HNS remote endpoint the load balancers reference (a pod on another node, or an overlay service VIP). */
export interface DesiredRemoteEndpoint {
  ip: string;
  mac: string;
  /** Overlay: the ProviderAddress policy (the peer node's address). Absent on L2Bridge. */
  providerAddress?: string;
  purpose: 'backend' | 'service-vip';
}

export type FindingReason =
  | 'EtpLocalWithoutDsr'
  | 'PreserveDestinationWithoutDsr'
  | 'SessionAffinityUnsupported'
  | 'LocalEndpointNotFound'
  | 'NamedPortUnresolved'
  | 'MixedTargetPorts'
  | 'UnsupportedProtocol'
  | 'IPv6NotProgrammed'
  | 'SourceVipMissing';

/**
 * Something the proxy did differently from what the Service asks for, or could not do. The caller turns each
 * into a Kubernetes event, a metric label and a log line; nothing here is silent.
 */
export interface ProxyFinding {
  service: string;
  reason: FindingReason;
  /** `degraded`: the Service is programmed with weaker semantics than it asks for. */
  severity: 'degraded' | 'warning';
  message: string;
}

export interface ServicePlan {
  service: string;
  loadBalancers: DesiredLoadBalancer[];
  remoteEndpoints: DesiredRemoteEndpoint[];
  findings: ProxyFinding[];
}
