/**
 * Endpoint statistics as HNS reports them (`GET /endpointstats/<id>` through HNSCall; hcsshim
 * `GetHNSEndpointStats` → `EndpointStats`), read by kubelet's Windows stats and windows_exporter. Counters are
 * uint64 in HNS; they are kept as numbers when exact and as decimal strings beyond 2^53.
 */
import { getCI } from './json';

export type Counter = number | string;

export interface EndpointStats {
  EndpointID: string;
  InstanceID?: string;
  BytesReceived: Counter;
  BytesSent: Counter;
  PacketsReceived: Counter;
  PacketsSent: Counter;
  DroppedPacketsIncoming: Counter;
  DroppedPacketsOutgoing: Counter;
}

export const ENDPOINT_STATS_COUNTERS = [
  'BytesReceived',
  'BytesSent',
  'PacketsReceived',
  'PacketsSent',
  'DroppedPacketsIncoming',
  'DroppedPacketsOutgoing',
] as const;

function counter(v: unknown): Counter {
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === 'number' || typeof v === 'string') return v;
  return 0;
}

/** HNS's stats document (any key casing) → EndpointStats; `id` fills EndpointID when HNS leaves it out. */
export function parseEndpointStats(doc: unknown, id: string): EndpointStats {
  const out: EndpointStats = {
    EndpointID: String(getCI(doc, 'EndpointID') ?? getCI(doc, 'EndpointId') ?? id),
    BytesReceived: 0,
    BytesSent: 0,
    PacketsReceived: 0,
    PacketsSent: 0,
    DroppedPacketsIncoming: 0,
    DroppedPacketsOutgoing: 0,
  };
  const instance = getCI(doc, 'InstanceID') ?? getCI(doc, 'InstanceId');
  if (instance !== undefined) out.InstanceID = String(instance);
  for (const k of ENDPOINT_STATS_COUNTERS) out[k] = counter(getCI(doc, k));
  return out;
}
