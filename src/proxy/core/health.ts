/**
 * Which Services need a health check node port on this node and what it answers (kube-proxy's service health
 * checks): a Service of type LoadBalancer with `externalTrafficPolicy: Local` gets `spec.healthCheckNodePort`
 * from the API server; an external load balancer probes it on every node and sends traffic only to the nodes
 * that answer 200, i.e. the ones with a local ready endpoint. Counted as kube-proxy counts
 * (EndpointsMap.LocalReadyEndpoints): distinct local, ready `ip:port` pairs over all of the Service's slices.
 */
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { isIPv4 } from './addr';

export interface HealthCheckService {
  namespace: string;
  name: string;
  port: number;
  localEndpoints: number;
}

/** The health check a Service needs on node `nodeName`, or undefined when it needs none. */
export function healthCheckOf(svc: V1Service, slices: readonly V1EndpointSlice[], nodeName: string): HealthCheckService | undefined {
  const spec = svc.spec;
  const port = spec?.healthCheckNodePort ?? 0;
  if (spec?.type !== 'LoadBalancer' || spec.externalTrafficPolicy !== 'Local' || !(port > 0 && port <= 65535)) return undefined;
  const local = new Set<string>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4') continue;
    for (const p of slice.ports ?? []) {
      if (!p.port) continue;
      for (const ep of slice.endpoints ?? []) {
        const ip = ep.addresses?.[0];
        if (!isIPv4(ip) || ep.nodeName !== nodeName || (ep.conditions?.ready ?? true) !== true) continue;
        local.add(`${ip}:${p.port}`);
      }
    }
  }
  return { namespace: svc.metadata?.namespace ?? '', name: svc.metadata?.name ?? '', port, localEndpoints: local.size };
}
