/**
 * Refusing to run beside kube-proxy. kube-proxy winkernel deletes every HNS load balancer when it starts and
 * adopts any LB with its (vip, protocol, ports, endpoint-hash) key each sync (ops reference §0.4, §2.1), so two
 * proxies on one node undo each other. Its load balancers are recognised by their shape (§2.4): exactly one
 * port mapping for TCP/UDP/SCTP, port-mapping flags within LocalRoutedVIP|UseMux|PreserveDIP|VipExternalIP,
 * LB flags within DSR|IPv6, at most one frontend VIP, at least one backend.
 */
import type { HostComputeLoadBalancer } from '../../hns';

const KUBE_PROXY_PORT_FLAGS = 2 | 4 | 8 | 16;
const KUBE_PROXY_LB_FLAGS = 1 | 2;
const PROTOCOLS: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' };

export function looksLikeKubeProxy(lb: HostComputeLoadBalancer): boolean {
  const pms = lb.PortMappings ?? [];
  if (pms.length !== 1) return false;
  const pm = pms[0];
  if (PROTOCOLS[pm.Protocol] === undefined) return false;
  if (((pm.Flags ?? 0) & ~KUBE_PROXY_PORT_FLAGS) !== 0) return false;
  if (((lb.Flags ?? 0) & ~KUBE_PROXY_LB_FLAGS) !== 0) return false;
  if ((lb.FrontendVIPs ?? []).length > 1) return false;
  return (lb.HostComputeEndpoints ?? []).length > 0;
}

export function describeLoadBalancer(lb: HostComputeLoadBalancer): string {
  const pm = lb.PortMappings?.[0];
  const vip = lb.FrontendVIPs?.[0] ?? 'every host address';
  const proto = pm ? (PROTOCOLS[pm.Protocol] ?? String(pm.Protocol)) : '?';
  return `${lb.ID} (${vip}:${pm?.ExternalPort ?? '?'}/${proto} → ${(lb.HostComputeEndpoints ?? []).length} endpoint(s), port flags ${pm?.Flags ?? 0})`;
}

export class KubeProxyPresentError extends Error {
  constructor(
    readonly found: string[],
    message: string,
  ) {
    super(message);
    this.name = 'KubeProxyPresentError';
  }
}

export function hnsCoexistenceError(foreign: HostComputeLoadBalancer[]): KubeProxyPresentError {
  const shown = foreign.slice(0, 5).map(describeLoadBalancer);
  const more = foreign.length > shown.length ? ` and ${foreign.length - shown.length} more` : '';
  return new KubeProxyPresentError(
    foreign.map((l) => String(l.ID)),
    `kube-proxy (winkernel) appears to be programming this node: ${foreign.length} HNS load balancer(s) not created by ` +
      `switchyard have its shape: ${shown.join('; ')}${more}. Two service proxies on one node delete each other's ` +
      'load balancers. Stop kube-proxy on this node first (exclude the node from the kube-proxy DaemonSet with a ' +
      'nodeSelector/affinity, or stop the kube-proxy Windows service), then either delete those load balancers ' +
      '(`switchyard lb delete <id>`) or start the proxy with adoption (agent config proxy.adoptForeign: true) to take ' +
      'over the ones that match its own documents exactly.',
  );
}
