/**
 * Counters the agent's metrics endpoint exports as they are (monotonic unless noted), so the proxy's work and
 * the drift it repaired can be seen without reading logs.
 */
import type { FindingReason } from '../core';

export class ProxyCounters {
  /** Incremental syncs (one per coalesced burst). */
  syncs = 0;
  /** Full syncs: the start and every periodic resync. */
  fullSyncs = 0;
  loadBalancersCreated = 0;
  loadBalancersModified = 0;
  loadBalancersDeleted = 0;
  /** Load balancers found at start that matched the desired documents and were kept as they are. */
  loadBalancersAdopted = 0;
  remoteEndpointsCreated = 0;
  remoteEndpointsDeleted = 0;
  /** Drift found by a full sync: an owned load balancer missing from HNS (deleted out of band, HNS restart). */
  driftLoadBalancersMissing = 0;
  /** Drift found by a full sync: an owned load balancer whose document no longer matches what was programmed. */
  driftLoadBalancersAltered = 0;
  driftRemoteEndpointsMissing = 0;
  /** HNS calls that failed (each also logged with the call and the service). */
  errors = 0;
  /** Findings reported, by reason (each also logged and handed to onFinding). */
  findings: Partial<Record<FindingReason, number>> = {};
  /** Gauge: load balancers currently programmed. */
  programmedLoadBalancers = 0;
  /** Gauge: duration of the last sync, ms. */
  lastSyncMs = 0;

  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this)) {
      if (typeof v === 'number') out[k] = v;
    }
    for (const [k, v] of Object.entries(this.findings)) out[`findings.${k}`] = v ?? 0;
    return out;
  }
}
