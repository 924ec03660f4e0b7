/**
 * HCN network → kernel objects. L2Bridge/NAT: a bridge carrying the gateway address. Overlay: the same
 * bridge plus a vxlan device (VNI from the VSID subnet policy, UDP port from VxlanPort, local = provider
 * address, pod MTU = uplink MTU − 50). Transparent: nothing until endpoints (macvlans on the uplink).
 * Network policies: RemoteSubnetRoute (Overlay: flannel's route + neighbour + fdb; L2Bridge: host-gw route
 * via the peer's provider address).
 */
import type { HostComputeNetwork, NetworkPolicy, RemoteSubnetRouteSettings } from '../../hns';
import { canonicalNetworkType, findPolicies, getCI, policyTypeIs } from '../../hns';
import type { Rtnl } from './netlink/rtnl';
import { OsError } from './netlink/libc';
import { isIPv4, parseV4Prefix } from './addr';
import { contains, formatCidr, formatIp, nextIp, parseIp } from '../../net/ip';
import { compactGuid } from '../../net/id';
import { macFromIpv4, toHnsMac, toKernelMac } from '../../net/mac';
import type { NetworkRecord } from './state';

export const VXLAN_OVERHEAD = 50;
export const DEFAULT_VNI = 4096;
export const DEFAULT_VXLAN_PORT = 4789;

export class BadNetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadNetworkError';
  }
}

/** The kernel refused a vxlan device because its VNI and port are taken (EEXIST). */
export class VniInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VniInUseError';
  }
}

const hex = compactGuid;
export const bridgeName = (id: string) => `syb${hex(id).slice(0, 10)}`;
export const vxlanName = (id: string) => `syx${hex(id).slice(0, 10)}`;
export const vethName = (id: string) => `syv${hex(id).slice(0, 10)}`;
export const OWN_LINK = /^sy[bxv][0-9a-f]{10}$/;

/** A locally administered MAC derived from the provider address, stable across restarts. */
export function defaultDrMac(pa: string): string {
  return macFromIpv4('0e:5a', pa, ':')!;
}

function policySetting<T>(policies: NetworkPolicy[] | undefined, type: string, field: string): T | undefined {
  const p = findPolicies(policies, type)[0];
  return p ? getCI<T>(p.Settings, field) : undefined;
}

/** Works out what a network document means on Linux, validating it; touches nothing. */
export function planNetwork(doc: HostComputeNetwork, id: string, rt: Rtnl): NetworkRecord {
  const type = canonicalNetworkType(doc.Type);
  if (!['L2Bridge', 'Overlay', 'NAT', 'Transparent'].includes(type)) {
    throw new BadNetworkError(
      `Type: "${String(doc.Type)}" is not realized by the linux data plane (use L2Bridge, Overlay, NAT or Transparent)`,
    );
  }
  const subnetDoc = doc.Ipams?.[0]?.Subnets?.[0];
  const rec: NetworkRecord = { doc, type: type as NetworkRecord['type'], mtu: 1500 };
  const adapter = policySetting<string>(doc.Policies, 'NetAdapterName', 'NetworkAdapterName');
  let uplink = adapter ? rt.linkByName(adapter) : undefined;
  if (adapter && !uplink) throw new BadNetworkError(`Policies NetAdapterName: no interface named "${adapter}" on this node`);
  const pa = policySetting<string>(doc.Policies, 'ProviderAddress', 'ProviderAddress');
  if (pa !== undefined && !isIPv4(pa)) throw new BadNetworkError(`Policies ProviderAddress: "${pa}" is not an IPv4 address`);

  if (type !== 'Transparent') {
    if (!subnetDoc?.IpAddressPrefix)
      throw new BadNetworkError('Ipams[0].Subnets[0].IpAddressPrefix is required (the pod subnet, e.g. 10.244.1.0/24)');
    const cidr = parseV4Prefix(subnetDoc.IpAddressPrefix, 'Ipams[0].Subnets[0].IpAddressPrefix');
    const text = formatCidr(cidr.ip, cidr.prefix);
    const gw = (subnetDoc.Routes ?? []).find((r) => r.DestinationPrefix === '0.0.0.0/0')?.NextHop ?? formatIp(nextIp(cidr.ip));
    if (!isIPv4(gw) || !contains(cidr, parseIp(gw)!))
      throw new BadNetworkError(`Ipams[0].Subnets[0].Routes: gateway "${gw}" is not inside ${text}`);
    rec.subnet = text;
    rec.gateway = gw;
    rec.bridge = bridgeName(id);
  } else {
    if (!uplink) throw new BadNetworkError('Policies: a Transparent network needs a NetAdapterName policy naming the uplink interface');
    if (subnetDoc?.IpAddressPrefix) {
      const c = parseV4Prefix(subnetDoc.IpAddressPrefix, 'Ipams[0].Subnets[0].IpAddressPrefix');
      rec.subnet = formatCidr(c.ip, c.prefix);
    }
    rec.gateway = subnetDoc?.Routes?.find((r) => r.DestinationPrefix === '0.0.0.0/0')?.NextHop;
  }
  if (uplink) {
    rec.uplink = uplink.name;
    rec.mtu = uplink.mtu;
  }

  if (type === 'Overlay') {
    let local = pa;
    if (!uplink && local) {
      const a = rt.addresses().find((x) => x.ip === local);
      if (!a) throw new BadNetworkError(`Policies ProviderAddress: ${local} is not an address of this node`);
      uplink = rt.links().find((l) => l.index === a.index);
      rec.uplink = uplink?.name;
      rec.mtu = uplink?.mtu ?? 1500;
    }
    if (!local && uplink) local = rt.addresses(uplink.index).find((a) => a.family === 2)?.ip;
    if (!local)
      throw new BadNetworkError(
        'Policies: an Overlay network needs a ProviderAddress policy or a NetAdapterName uplink with an IPv4 address (the VTEP address)',
      );
    const vsid = findPolicies(subnetDoc?.Policies, 'VSID')[0];
    const vni = vsid ? Number(getCI(vsid.Settings, 'IsolationId')) : DEFAULT_VNI;
    if (!Number.isInteger(vni) || vni < 1 || vni > 0xffffff)
      throw new BadNetworkError(`Ipams[0].Subnets[0].Policies VSID.IsolationId: ${String(vni)} is not a VNI (1-16777215)`);
    const port = Number(policySetting(doc.Policies, 'VxlanPort', 'Port') ?? DEFAULT_VXLAN_PORT);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new BadNetworkError(`Policies VxlanPort.Port: ${String(port)} is not a UDP port`);
    const dr = policySetting<string>(doc.Policies, 'DrMacAddress', 'Address');
    rec.vni = vni;
    rec.port = port;
    rec.providerAddress = local;
    rec.drMac = toKernelMac(dr ?? defaultDrMac(local));
    rec.vxlan = vxlanName(id);
    rec.mtu = rec.mtu - VXLAN_OVERHEAD;
  }
  return rec;
}

/** Creates the network's links; on failure removes whatever it created and rethrows. */
export function realizeNetwork(rt: Rtnl, rec: NetworkRecord): void {
  const created: string[] = [];
  try {
    if (rec.bridge && !rt.linkByName(rec.bridge)) {
      const br = rt.createBridge(rec.bridge, { mtu: rec.mtu });
      created.push(rec.bridge);
      const prefixLen = Number(rec.subnet!.split('/')[1]);
      rt.addAddress(br.index, rec.gateway!, prefixLen, `gateway ${rec.gateway}/${prefixLen} on ${rec.bridge}`);
    }
    if (rec.vxlan && !rt.linkByName(rec.vxlan)) {
      const underlay = rec.uplink ? rt.linkByName(rec.uplink)?.index : undefined;
      let vx;
      try {
        vx = rt.createVxlan(rec.vxlan, {
          vni: rec.vni!,
          port: rec.port!,
          local: rec.providerAddress,
          underlay,
          mtu: rec.mtu,
          mac: rec.drMac,
        });
      } catch (e) {
        // The kernel allows one device per VNI and UDP port; the clash is with a device that is not ours.
        if (e instanceof OsError && e.errno === 17)
          throw new VniInUseError(
            `VSID ${rec.vni}: VNI ${rec.vni} on UDP port ${rec.port} is already used by another vxlan device on this node (not a switchyard network; see ip -d link show type vxlan)`,
          );
        throw e;
      }
      created.push(rec.vxlan);
      // flannel gives its VTEP the subnet's network address /32: peers route to it as "<subnet>.0".
      const net = rec.subnet!.split('/')[0];
      rt.addAddress(vx.index, net, 32, `${net}/32 on ${rec.vxlan}`);
    }
    for (const p of rec.doc.Policies ?? []) applyNetworkPolicy(rt, rec, p);
  } catch (e) {
    for (const name of created.reverse()) rt.deleteLink(name);
    throw e;
  }
}

export function removeNetwork(rt: Rtnl, rec: NetworkRecord): void {
  for (const p of rec.doc.Policies ?? []) removeNetworkPolicy(rt, rec, p);
  if (rec.vxlan) rt.deleteLink(rec.vxlan);
  if (rec.bridge) rt.deleteLink(rec.bridge);
}

interface RemoteRoute {
  prefix: string;
  prefixLen: number;
  peerGw: string;
  pa: string;
  mac?: string;
  vni?: number;
}

function remoteRoute(rec: NetworkRecord, p: NetworkPolicy): RemoteRoute | undefined {
  if (!policyTypeIs(p, 'RemoteSubnetRoute')) return undefined;
  const s = (p.Settings ?? {}) as Partial<RemoteSubnetRouteSettings>;
  const prefix = getCI<string>(s, 'DestinationPrefix');
  const pa = getCI<string>(s, 'ProviderAddress');
  const mac = getCI<string>(s, 'DistributedRouterMacAddress');
  const vni = getCI<number>(s, 'IsolationId');
  if (!prefix) throw new BadNetworkError('RemoteSubnetRoute.DestinationPrefix is required');
  const c = parseV4Prefix(prefix, 'RemoteSubnetRoute.DestinationPrefix');
  const cText = formatCidr(c.ip, c.prefix);
  if (!isIPv4(pa)) throw new BadNetworkError(`RemoteSubnetRoute.ProviderAddress: "${String(pa)}" is not the peer node's IPv4 address`);
  if (rec.subnet && contains(parseV4Prefix(rec.subnet, 'subnet'), c.ip)) {
    throw new BadNetworkError(
      `RemoteSubnetRoute.DestinationPrefix: ${cText} is inside this network's own subnet ${rec.subnet}; a remote subnet route names another node's pod subnet`,
    );
  }
  if (rec.type === 'Overlay') {
    if (!mac)
      throw new BadNetworkError('RemoteSubnetRoute.DistributedRouterMacAddress is required on an Overlay network (the peer VTEP MAC)');
    if (vni !== undefined && Number(vni) !== rec.vni)
      throw new BadNetworkError(`RemoteSubnetRoute.IsolationId: ${vni} does not match the network's VNI ${rec.vni}`);
  }
  return { prefix: formatIp(c.ip), prefixLen: c.prefix, peerGw: formatIp(c.ip), pa, mac, vni };
}

export function applyNetworkPolicy(rt: Rtnl, rec: NetworkRecord, p: NetworkPolicy): void {
  const r = remoteRoute(rec, p);
  if (!r) return;
  if (rec.type === 'Overlay') {
    const vx = rt.mustLink(rec.vxlan!);
    // flannel's wire format: the inner frame goes to the peer VTEP MAC; the fdb says where that VTEP lives.
    rt.setNeighbor(vx.index, r.peerGw, r.mac!);
    rt.setFdb(vx.index, r.mac!, r.pa);
    rt.addRoute({ dst: r.prefix, prefixLen: r.prefixLen, gateway: r.peerGw, oif: vx.index, onlink: true });
  } else {
    rt.addRoute({ dst: r.prefix, prefixLen: r.prefixLen, gateway: r.pa });
  }
}

export function removeNetworkPolicy(rt: Rtnl, rec: NetworkRecord, p: NetworkPolicy): void {
  let r: RemoteRoute | undefined;
  try {
    r = remoteRoute(rec, p);
  } catch {
    return;
  }
  if (!r) return;
  if (rec.type === 'Overlay') {
    const vx = rec.vxlan ? rt.linkByName(rec.vxlan) : undefined;
    if (!vx) return;
    rt.deleteRoute({ dst: r.prefix, prefixLen: r.prefixLen, gateway: r.peerGw, oif: vx.index, onlink: true });
    rt.deleteNeighbor(vx.index, r.peerGw);
    rt.deleteFdb(vx.index, r.mac!, r.pa);
  } else {
    rt.deleteRoute({ dst: r.prefix, prefixLen: r.prefixLen, gateway: r.pa });
  }
}

/** The network document as queries return it: with the policies the data plane filled in. */
export function describeNetwork(rec: NetworkRecord): HostComputeNetwork {
  const doc: HostComputeNetwork = { ...rec.doc, Policies: [...(rec.doc.Policies ?? [])] };
  if (rec.type === 'Overlay') {
    if (!findPolicies(doc.Policies, 'DrMacAddress').length)
      doc.Policies!.push({ Type: 'DrMacAddress', Settings: { Address: toHnsMac(rec.drMac!) } });
    if (!findPolicies(doc.Policies, 'ProviderAddress').length)
      doc.Policies!.push({ Type: 'ProviderAddress', Settings: { ProviderAddress: rec.providerAddress! } });
  }
  return doc;
}
