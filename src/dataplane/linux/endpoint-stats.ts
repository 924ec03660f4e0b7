/**
 * Endpoint statistics on the linux data plane, in HNS's fields (hcsshim `EndpointStats`, `GET /endpointstats/<id>`):
 * the counters of the endpoint's host-side veth, read from the kernel (RTM_GETLINK, IFLA_STATS64 = struct
 * rtnl_link_stats64) in the node namespace. HNS counts from the endpoint's side, as kubelet and windows_exporter
 * read them (BytesReceived = bytes the container received), so the host end's directions are swapped: what the
 * host end transmits the pod receives. An endpoint without a veth (not attached, a host endpoint) has all zeros,
 * as an HNS endpoint with no port traffic.
 */
import { parseEndpointStats, type EndpointStats } from '../../hns/endpoint-stats';
import type { LinuxContext } from './context';
import { IFLA, RTM, encodeAttrs, ifinfomsg, str } from './netlink/codec';
import { isNoSuchLink } from './netlink/libc';

const IFLA_STATS64 = 23;
/** struct rtnl_link_stats64: the first eight u64 members, in order. */
const STATS64 = ['rx_packets', 'tx_packets', 'rx_bytes', 'tx_bytes', 'rx_errors', 'tx_errors', 'rx_dropped', 'tx_dropped'] as const;
type Stats64 = Record<(typeof STATS64)[number], bigint>;

/** The kernel counters of a link in the node namespace; undefined when the link does not exist. */
export function linkStats64(c: LinuxContext, name: string): Stats64 | undefined {
  let body: Buffer;
  try {
    const r = c.rt.sock.request(RTM.GETLINK, 0, Buffer.concat([ifinfomsg(), encodeAttrs([[IFLA.IFNAME, str(name)]])]), name);
    if (!r.length) return undefined;
    body = r[0].body;
  } catch (e) {
    if (isNoSuchLink(e)) return undefined;
    throw e;
  }
  for (let off = 16; off + 4 <= body.length;) {
    const len = body.readUInt16LE(off);
    if (len < 4 || off + len > body.length) break;
    if ((body.readUInt16LE(off + 2) & 0x3fff) === IFLA_STATS64 && len >= 4 + 8 * STATS64.length) {
      const out = {} as Stats64;
      STATS64.forEach((k, i) => (out[k] = body.readBigUInt64LE(off + 4 + 8 * i)));
      return out;
    }
    off += (len + 3) & ~3;
  }
  return undefined;
}

export function endpointStats(c: LinuxContext, id: string): EndpointStats {
  const s = c.read();
  const ep = c.endpoint(s, id, 'GET /endpointstats/');
  const k = ep.veth ? linkStats64(c, ep.veth) : undefined;
  const doc = k
    ? {
        EndpointID: ep.doc.ID,
        InstanceID: ep.doc.ID,
        PacketsReceived: k.tx_packets,
        BytesReceived: k.tx_bytes,
        DroppedPacketsIncoming: k.tx_dropped,
        PacketsSent: k.rx_packets,
        BytesSent: k.rx_bytes,
        DroppedPacketsOutgoing: k.rx_dropped,
      }
    : { EndpointID: ep.doc.ID, InstanceID: ep.doc.ID };
  return parseEndpointStats(doc, id);
}
