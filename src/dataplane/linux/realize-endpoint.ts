/**
 * Endpoint attach/detach: a veth whose pod end is created directly inside the pod's namespace with its final
 * name (or, on Transparent networks, a macvlan on the uplink), then addressed and routed from a netlink
 * socket opened in that namespace. Any failure removes what was created.
 */
import * as fs from 'node:fs';
import type { HostComputeEndpoint } from '../../hns';
import { findPolicies, getCI } from '../../hns';
import { addAddressRequest, addRouteRequest, LOOPBACK_IFINDEX, Rtnl, setLinkRequest, type NlRequest } from './netlink/rtnl';
import { AddressError, parseV4Prefix } from './addr';
import { formatIp } from '../../net/ip';
import type { EndpointRecord, NetworkRecord } from './state';
import { childProcess } from './lazy';
import { ERRNO, OsError } from './netlink/libc';

export interface AttachResult {
  veth?: string;
}

function defaultRoutes(doc: HostComputeEndpoint, net: NetworkRecord): { dst: string; prefixLen: number; gateway?: string }[] {
  const routes = (doc.Routes ?? []).filter((r) => r.DestinationPrefix);
  if (routes.length) {
    return routes.map((r) => {
      const c = parseV4Prefix(r.DestinationPrefix!, 'Routes.DestinationPrefix');
      return { dst: formatIp(c.ip), prefixLen: c.prefix, gateway: r.NextHop && r.NextHop !== '0.0.0.0' ? r.NextHop : undefined };
    });
  }
  return net.gateway ? [{ dst: '0.0.0.0', prefixLen: 0, gateway: net.gateway }] : [];
}

/**
 * One socket in the pod namespace (opened from the descriptor the veth's peer is created with), and the
 * pod side in two round trips after the create: the new interface's index, then one datagram that brings
 * it and lo up and adds its address and routes (Rtnl.apply: in order, each acknowledged).
 */
export function attach(node: Rtnl, net: NetworkRecord, ep: EndpointRecord, netns: string, ifname: string, vethName: string): AttachResult {
  const mac = ep.doc.MacAddress;
  const nsFd = fs.openSync(netns, 'r');
  let pod: Rtnl | undefined;
  let createdVeth = false;
  let createdPodLink = false;
  try {
    pod = Rtnl.openIn(nsFd, netns);
    try {
      if (net.type === 'Transparent') {
        const up = node.mustLink(net.uplink!);
        node.createMacvlan(ifname, up.index, { netnsFd: nsFd, mac });
        createdPodLink = true;
      } else {
        const br = node.mustLink(net.bridge!);
        node.addVeth(vethName, { master: br.index, mtu: net.mtu, peer: { name: ifname, netnsFd: nsFd, mac, mtu: net.mtu } });
        createdVeth = true;
      }
    } catch (e) {
      // The pod end is created with its final name, so a taken name fails the create (nothing is made);
      // asked only then, which saves the lookup on every attach.
      if (e instanceof OsError && e.errno === ERRNO.EEXIST && pod.linkByName(ifname))
        throw Object.assign(new Error(`interface ${ifname} already exists in ${netns}`), { code: 'EEXIST' });
      throw e;
    }
    pod.apply(podChanges(pod, net, ep, netns, ifname));
    applyQos(ep.doc, netns, ifname);
    return { veth: createdVeth ? vethName : undefined };
  } catch (e) {
    if (createdVeth) node.deleteLink(vethName);
    if (createdPodLink && pod) pod.deleteLink(ifname);
    throw e;
  } finally {
    pod?.close();
    fs.closeSync(nsFd);
  }
}

/** The pod side after the create: the new interface and lo up, its address and routes (one datagram). */
function podChanges(pod: Rtnl, net: NetworkRecord, ep: EndpointRecord, netns: string, ifname: string): NlRequest[] {
  const ip = ep.doc.IpConfigurations?.[0]?.IpAddress;
  const prefixLen = ep.doc.IpConfigurations?.[0]?.PrefixLength ?? Number(net.subnet?.split('/')[1] ?? 32);
  const link = pod.mustLink(ifname);
  // lo: brought up as before when it is down (setting an up link up again changes nothing).
  const changes: NlRequest[] = [
    setLinkRequest(link.index, { up: true }, `${ifname} in ${netns}`),
    setLinkRequest(LOOPBACK_IFINDEX, { up: true }, `lo in ${netns}`),
  ];
  if (ip) changes.push(addAddressRequest(link.index, ip, prefixLen, `${ip}/${prefixLen} on ${ifname} in ${netns}`));
  for (const r of defaultRoutes(ep.doc, net))
    changes.push(
      addRouteRequest({
        ...r,
        oif: link.index,
        onlink: !!r.gateway && net.type !== 'Transparent' && !!net.subnet && !!ip && !sameSubnet(ip, prefixLen, r.gateway!),
      }),
    );
  return changes;
}

function sameSubnet(ip: string, prefixLen: number, gw: string): boolean {
  const c = parseV4Prefix(`${ip}/${prefixLen}`, 'IpConfigurations');
  return parseV4Prefix(`${gw}/${prefixLen}`, 'gateway').ip.n === c.ip.n;
}

/** Removes the endpoint's links; idempotent (missing namespace or link is fine). */
export function detach(node: Rtnl, net: NetworkRecord | undefined, ep: EndpointRecord): void {
  if (ep.host) {
    removeHostAddress(node, net, ep);
    return;
  }
  if (ep.veth) node.deleteLink(ep.veth);
  const ns = ep.netns ?? ep.attaching?.netns;
  const ifname = ep.ifname ?? ep.attaching?.ifname;
  if (net?.type === 'Transparent' && ns && ifname && fs.existsSync(ns)) {
    const pod = Rtnl.open(ns);
    try {
      pod.deleteLink(ifname);
    } finally {
      pod.close();
    }
  }
}

/**
 * detach in two halves: what must happen under the state lock happens now (host addresses, a macvlan in the
 * pod namespace); the returned function starts the rest, a pod veth's deletion, which waits ~15 ms in the
 * kernel for RCU and needs neither the lock nor the JS thread (Rtnl.deleteLinkAsync).
 */
export function detachLater(node: Rtnl, net: NetworkRecord | undefined, ep: EndpointRecord): () => Promise<void> {
  const veth = ep.veth;
  if (ep.host || net?.type === 'Transparent' || !veth) {
    detach(node, net, ep);
    return () => Promise.resolve();
  }
  return () => node.deleteLinkAsync(veth).then(() => undefined);
}

/** The host endpoint's address on the network's bridge: ip/<subnet prefix>, so the node answers for it. */
export function hostAddress(net: NetworkRecord, ep: EndpointRecord): { ip: string; prefixLen: number } | undefined {
  const ip = ep.doc.IpConfigurations?.[0]?.IpAddress;
  if (!ip || !net.subnet) return undefined;
  return { ip, prefixLen: Number(net.subnet.split('/')[1]) };
}

export function addHostAddress(node: Rtnl, net: NetworkRecord, ep: EndpointRecord): void {
  const a = hostAddress(net, ep)!;
  const br = node.mustLink(net.bridge!);
  node.addAddress(br.index, a.ip, a.prefixLen, `host endpoint ${a.ip}/${a.prefixLen} on ${net.bridge}`);
}

function removeHostAddress(node: Rtnl, net: NetworkRecord | undefined, ep: EndpointRecord): void {
  const a = net ? hostAddress(net, ep) : undefined;
  const br = net?.bridge ? node.linkByName(net.bridge) : undefined;
  if (a && br) node.deleteAddress(br.index, a.ip, a.prefixLen);
}

/** QOS MaximumOutgoingBandwidthInBytes → a token bucket on the pod's interface (pod egress). */
function applyQos(doc: HostComputeEndpoint, netns: string, ifname: string): void {
  const q = findPolicies(doc.Policies, 'QOS')[0];
  if (!q) return;
  const bytes = Number(getCI(q.Settings, 'MaximumOutgoingBandwidthInBytes'));
  if (!Number.isFinite(bytes) || bytes <= 0)
    throw new AddressError(`QOS.MaximumOutgoingBandwidthInBytes: ${String(bytes)} must be a positive number of bytes per second`);
  const bits = Math.round(bytes * 8);
  // Burst must cover one timer tick at this rate (and at least one MTU-sized frame).
  const burst = Math.max(Math.ceil(bytes / 100), 16 * 1024);
  childProcess().execFileSync(
    'nsenter',
    [
      `--net=${netns}`,
      'tc',
      'qdisc',
      'replace',
      'dev',
      ifname,
      'root',
      'tbf',
      'rate',
      `${bits}bit`,
      'burst',
      String(burst),
      'latency',
      '50ms',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}
