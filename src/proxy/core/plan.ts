/**
 * One Service + its EndpointSlices + the node's facts → the HNS load balancers and remote endpoints the
 * node needs for it, with kube-proxy winkernel's semantics (docs/proxy.md has the table, field by field, and
 * the places where this deliberately differs).
 */
import type { V1EndpointSlice, V1Service, V1ServicePort } from '@kubernetes/client-node';
import {
  LoadBalancerDistribution,
  LoadBalancerFlags,
  LoadBalancerPortMappingFlags,
  SCHEMA_V2,
  type LoadBalancerPortMapping,
} from '../../hns';
import { conjureMac, isIPv4, prefixContains } from './addr';
import { endpointsForPort, usableEndpoints, type EndpointView } from './endpoints';
import type { Backend, DesiredLoadBalancer, DesiredRemoteEndpoint, LoadBalancerKind, NodeFacts, ProxyFinding, ServicePlan } from './types';

export const PROTOCOL_NUMBERS: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 };

/** The annotation kube-proxy reads to keep the destination IP (UseMux + PreserveDIP on ingress LBs). */
export const PRESERVE_DESTINATION_ANNOTATION = 'preserve-destination';

export function serviceKey(svc: { metadata?: { namespace?: string; name?: string } }): string {
  return `${svc.metadata?.namespace ?? 'default'}/${svc.metadata?.name ?? ''}`;
}

/** The node IP: the first IPv4 address of the node. */
export function nodeIPv4(facts: NodeFacts): string | undefined {
  return facts.nodeIPs.find((ip) => isIPv4(ip));
}

/** The provider address of the remote subnet holding `ip` (or `ip` itself when it is a peer's address). */
export function providerAddressFor(facts: NodeFacts, ip: string): string | undefined {
  let found: string | undefined;
  // The last match wins, as in kube-proxy's findRemoteSubnetProviderAddress.
  for (const rs of facts.remoteSubnets) {
    if (prefixContains(rs.prefix, ip) || rs.providerAddress === ip) found = rs.providerAddress;
  }
  return found;
}

interface LbSpec {
  kind: LoadBalancerKind;
  vip?: string;
  externalPort: number;
  backends: EndpointView[];
  portFlags: number;
  dsr: boolean;
}

/** Computes the plan for one Service. `slices` are the EndpointSlices labelled with its name. */
export function planService(svc: V1Service, slices: readonly V1EndpointSlice[], facts: NodeFacts): ServicePlan {
  const service = serviceKey(svc);
  const plan: ServicePlan = { service, loadBalancers: [], remoteEndpoints: [], findings: [] };
  const spec = svc.spec;
  if (!spec || spec.type === 'ExternalName') return plan;
  const find = (f: Omit<ProxyFinding, 'service'>) => {
    if (!plan.findings.some((x) => x.reason === f.reason && x.message === f.message)) plan.findings.push({ service, ...f });
  };

  const clusterIPs = [spec.clusterIP, ...(spec.clusterIPs ?? [])].filter((ip): ip is string => !!ip && ip !== 'None');
  const clusterIP = clusterIPs.find(isIPv4);
  if (!clusterIP && clusterIPs.length > 0 && spec.clusterIP !== 'None') {
    find({
      reason: 'IPv6NotProgrammed',
      severity: 'warning',
      message: `cluster IP ${clusterIPs.join(', ')} is not IPv4; only IPv4 load balancers are programmed`,
    });
  }
  const externalIPs = (spec.externalIPs ?? []).filter((ip) => {
    if (isIPv4(ip)) return true;
    find({ reason: 'IPv6NotProgrammed', severity: 'warning', message: `external IP ${ip} is not IPv4 and is not programmed` });
    return false;
  });
  const ingressIPs = (svc.status?.loadBalancer?.ingress ?? [])
    // ipMode Proxy: the cloud load balancer proxies to the node, the node must not claim the VIP (KEP-1860).
    .filter((i) => i.ip && i.ipMode !== 'Proxy')
    .map((i) => i.ip!)
    .filter((ip) => {
      if (isIPv4(ip)) return true;
      find({ reason: 'IPv6NotProgrammed', severity: 'warning', message: `load balancer ingress ${ip} is not IPv4 and is not programmed` });
      return false;
    });

  const dsrSupported = facts.features.DSR;
  const etpLocal = spec.externalTrafficPolicy === 'Local';
  const itpLocal = spec.internalTrafficPolicy === 'Local';
  const wantsPreserveDip = svc.metadata?.annotations?.[PRESERVE_DESTINATION_ANNOTATION] === 'true';
  const preserveDip = wantsPreserveDip && dsrSupported;
  const hasExternal = externalIPs.length > 0 || ingressIPs.length > 0 || (spec.ports ?? []).some((p) => (p.nodePort ?? 0) > 0);
  if (etpLocal && !dsrSupported && hasExternal) {
    find({
      reason: 'EtpLocalWithoutDsr',
      severity: 'degraded',
      message:
        'externalTrafficPolicy Local: this HNS has no DSR support, so external traffic reaches only local endpoints but the client source IP is not preserved',
    });
  }
  if (wantsPreserveDip && !dsrSupported) {
    find({
      reason: 'PreserveDestinationWithoutDsr',
      severity: 'degraded',
      message: `annotation ${PRESERVE_DESTINATION_ANNOTATION}: this HNS has no DSR support; the destination IP is not preserved`,
    });
  }
  const affinity = spec.sessionAffinity === 'ClientIP';
  if (affinity && !facts.features.SessionAffinity) {
    find({
      reason: 'SessionAffinityUnsupported',
      severity: 'degraded',
      message: 'sessionAffinity ClientIP: this HNS has no session affinity (needs HNS 12.0); connections are spread per connection',
    });
  }
  const distribution = affinity && facts.features.SessionAffinity ? LoadBalancerDistribution.SourceIP : LoadBalancerDistribution.None;
  const overlay = facts.networkType === 'Overlay';
  const nodeIP = nodeIPv4(facts);
  const remote = new Map<string, DesiredRemoteEndpoint>();

  if (overlay && clusterIP && facts.hostMac && nodeIP) {
    // kube-proxy gives every service VIP a remote endpoint on overlay (MAC of the host, PA = node IP).
    remote.set(clusterIP, { ip: clusterIP, mac: facts.hostMac, providerAddress: nodeIP, purpose: 'service-vip' });
  }

  for (const port of spec.ports ?? []) {
    const protocolName = port.protocol ?? 'TCP';
    const protocol = PROTOCOL_NUMBERS[protocolName];
    const portName = port.name ?? '';
    if (protocol === undefined) {
      find({
        reason: 'UnsupportedProtocol',
        severity: 'warning',
        message: `port ${portName || port.port}: protocol ${protocolName} has no HNS load balancer`,
      });
      continue;
    }
    const all = endpointsForPort(slices, portName, protocolName, facts.nodeName);
    const clusterSet = usableEndpoints(all, itpLocal);
    // NodePort and ingress LBs go local-only for ETP Local or preserve-destination, ExternalIP LBs for ETP Local only.
    const externalSet = usableEndpoints(all, etpLocal || preserveDip);
    const externalIPSet = usableEndpoints(all, etpLocal);

    const internalPort = targetPortOf(port, [...clusterSet, ...externalSet, ...externalIPSet]);
    if (internalPort === undefined) {
      if (clusterSet.length + externalSet.length + externalIPSet.length > 0) {
        find({
          reason: 'NamedPortUnresolved',
          severity: 'warning',
          message: `port ${portName}: target port "${String(port.targetPort)}" is not resolved by any EndpointSlice port`,
        });
      }
      continue;
    }
    const onPort = (set: EndpointView[]): EndpointView[] => {
      if (typeof port.targetPort !== 'string') return set;
      // A named port may resolve to different numbers on different pods; one HNS LB has one InternalPort.
      const kept = set.filter((e) => e.port === internalPort);
      if (kept.length < set.length) {
        find({
          reason: 'MixedTargetPorts',
          severity: 'degraded',
          message: `port ${portName}: target port "${port.targetPort}" resolves to several numbers; only endpoints on ${internalPort} are used`,
        });
      }
      return kept;
    };
    const clusterBackends = resolveBackends(onPort(clusterSet), facts, find);
    const externalBackends = resolveBackends(onPort(externalSet), facts, find);
    const externalIPBackends = resolveBackends(onPort(externalIPSet), facts, find);

    // SourceVIP (overlay): the source VIP, unless a backend is a peer node's address or outside every
    // remote subnet ("public"); then the node IP (kubernetes#91912).
    let sourceVip: string | undefined;
    if (overlay) {
      sourceVip = facts.sourceVip;
      for (const b of [...clusterBackends, ...externalBackends, ...externalIPBackends]) {
        if (b.local) continue;
        const pa = providerAddressFor(facts, b.ip);
        if (pa === undefined || pa === b.ip) sourceVip = nodeIP;
      }
    }

    const specs: LbSpec[] = [];
    const localDsr = etpLocal && dsrSupported;
    if (clusterIP) {
      specs.push({
        kind: 'ClusterIP',
        vip: clusterIP,
        externalPort: port.port,
        backends: clusterBackends,
        portFlags: 0,
        dsr: !!facts.enableDSR && dsrSupported,
      });
    }
    if ((port.nodePort ?? 0) > 0) {
      specs.push({
        kind: 'NodePort',
        externalPort: port.nodePort!,
        backends: externalBackends,
        portFlags: LoadBalancerPortMappingFlags.VipExternalIP | LoadBalancerPortMappingFlags.LocalRoutedVIP,
        dsr: localDsr,
      });
    }
    for (const ip of externalIPs) {
      specs.push({
        kind: 'ExternalIP',
        vip: ip,
        externalPort: port.port,
        backends: externalIPBackends,
        portFlags: LoadBalancerPortMappingFlags.VipExternalIP,
        dsr: localDsr,
      });
    }
    for (const ip of ingressIPs) {
      const flags =
        LoadBalancerPortMappingFlags.VipExternalIP |
        (preserveDip ? LoadBalancerPortMappingFlags.UseMux | LoadBalancerPortMappingFlags.PreserveDIP : 0);
      specs.push({
        kind: 'LoadBalancerIngress',
        vip: ip,
        externalPort: port.port,
        backends: externalBackends,
        portFlags: flags,
        dsr: localDsr || preserveDip,
      });
    }

    for (const s of specs) {
      if (s.backends.length === 0) continue;
      const mapping: LoadBalancerPortMapping = { Protocol: protocol, InternalPort: internalPort, ExternalPort: s.externalPort };
      if (distribution) mapping.DistributionType = distribution;
      if (s.portFlags) mapping.Flags = s.portFlags;
      const template: DesiredLoadBalancer['template'] = {};
      if (sourceVip) template.SourceVIP = sourceVip;
      if (s.vip) template.FrontendVIPs = [s.vip];
      template.PortMappings = [mapping];
      template.SchemaVersion = { ...SCHEMA_V2 };
      if (s.dsr) template.Flags = LoadBalancerFlags.EnableDirectServerReturn;
      plan.loadBalancers.push({
        identity: `${service}:${portName || '-'}/${protocolName}:${s.kind}${s.vip ? ':' + s.vip : ''}`,
        service,
        kind: s.kind,
        backends: s.backends.map((e) => ({ ip: e.ip, local: e.local })),
        template,
      });
      for (const b of s.backends) {
        if (b.local || remote.has(b.ip)) continue;
        const pa = overlay ? (providerAddressFor(facts, b.ip) ?? nodeIP) : undefined;
        remote.set(b.ip, { ip: b.ip, mac: conjureMac(b.ip), ...(pa ? { providerAddress: pa } : {}), purpose: 'backend' });
      }
    }
  }
  plan.remoteEndpoints = [...remote.values()];
  return plan;
}

/** A numeric target port as is; a named one through the EndpointSlice port of the first usable endpoint. */
function targetPortOf(port: V1ServicePort, usable: EndpointView[]): number | undefined {
  const tp = port.targetPort as unknown;
  if (typeof tp === 'number' && tp > 0) return tp;
  if (typeof tp === 'string' && /^\d+$/.test(tp)) return Number(tp);
  if (tp === undefined || tp === null || tp === '') return port.port;
  return usable[0]?.port;
}

/** Drops local endpoints HNS does not know (yet): kube-proxy skips them too, but says so here. */
function resolveBackends(set: EndpointView[], facts: NodeFacts, find: (f: Omit<ProxyFinding, 'service'>) => void): EndpointView[] {
  return set.filter((e) => {
    if (!e.local || facts.localEndpoints.has(e.ip)) return true;
    find({
      reason: 'LocalEndpointNotFound',
      severity: 'warning',
      message: `local endpoint ${e.ip} has no HNS endpoint on network ${facts.networkId} (yet); it is left out`,
    });
    return false;
  });
}

/** The backends a plan's load balancers reference, for the caller's endpoint bookkeeping. */
export function backendsOf(plan: ServicePlan): Backend[] {
  const seen = new Map<string, Backend>();
  for (const lb of plan.loadBalancers) for (const b of lb.backends) seen.set(b.ip, b);
  return [...seen.values()];
}
