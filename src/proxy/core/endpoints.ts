/**
 * EndpointSlices → the endpoints of one service port, and the choice of which of them receive traffic
 * (kube-proxy's EndpointSliceCache and KEP-1669 rules, see docs/proxy.md).
 */
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { compareIPv4, isIPv4 } from './addr';

export interface EndpointView {
  ip: string;
  /** The port this endpoint serves the service port on (the slice's port number). */
  port: number;
  local: boolean;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

/**
 * The endpoints of the service port named `portName` (`''` for the unnamed port) with `protocol`, from every
 * IPv4 slice of the service. An address listed twice (a pod moving between slices) counts once, the local
 * copy winning, as kube-proxy does. Conditions default as in kube-proxy: ready and serving when unset,
 * terminating when set.
 */
export function endpointsForPort(slices: readonly V1EndpointSlice[], portName: string, protocol: string, nodeName: string): EndpointView[] {
  const byKey = new Map<string, EndpointView>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4') continue;
    for (const p of slice.ports ?? []) {
      if ((p.name ?? '') !== portName || (p.protocol ?? 'TCP') !== protocol) continue;
      if (!p.port) continue;
      for (const ep of slice.endpoints ?? []) {
        const ip = ep.addresses?.[0];
        if (!isIPv4(ip)) continue;
        const ready = ep.conditions?.ready ?? true;
        const view: EndpointView = {
          ip,
          port: p.port,
          local: ep.nodeName !== undefined && ep.nodeName === nodeName,
          ready,
          serving: ep.conditions?.serving ?? true,
          terminating: ep.conditions?.terminating ?? false,
        };
        const key = `${ip}:${p.port}`;
        const seen = byKey.get(key);
        if (!seen || (view.local && !seen.local)) byKey.set(key, view);
      }
    }
  }
  return [...byKey.values()].sort((a, b) => compareIPv4(a.ip, b.ip) || a.port - b.port);
}

/**
 * The endpoints that receive traffic: the ready ones; when none is ready, the serving ones that are
 * terminating (so connections drain during a rollout instead of failing); never a non-serving one.
 * `onlyLocal` restricts the choice, the fallback included, to this node's endpoints.
 */
export function usableEndpoints(all: readonly EndpointView[], onlyLocal: boolean): EndpointView[] {
  const pool = onlyLocal ? all.filter((e) => e.local) : all;
  const ready = pool.filter((e) => e.ready);
  if (ready.length > 0) return ready;
  return pool.filter((e) => e.serving && e.terminating);
}
