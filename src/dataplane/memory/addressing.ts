/**
 * What HNS checks and assigns when an endpoint is created: its addresses (inside a subnet of the network,
 * not reserved, not taken; the next free one when none is given), its MAC, and the host ports its
 * PortMapping policies claim.
 */
import { randomBytes } from 'node:crypto';
import { EndpointFlags, type HostComputeEndpoint, type HostComputeNetwork, type IpConfig } from '../../hns';
import { contains, formatIp, formatMac, hostMask, lastOf, macKey, networkOf, parseIp, sameIpText, type IP, type IPNet } from '../../net';
import { sameGuid } from './lookup';
import type { EmulatorState } from './state';
import { portsOf, type PortKey } from './policies';
import { fail, subnetsOf, type Ctx } from './validate';

/** Host ports claimed by local endpoints other than `except`. */
export function claimedPorts(s: EmulatorState, except?: string): Map<string, HostComputeEndpoint> {
  const m = new Map<string, HostComputeEndpoint>();
  for (const e of s.Endpoints) {
    if (except && sameGuid(e.ID, except)) continue;
    if (((e.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0) continue;
    for (const k of portsOf(e.Policies)) m.set(portKey(k), e);
  }
  return m;
}

export function checkPortCollisions(s: EmulatorState, ports: PortKey[], self: string | undefined, ctx: Ctx): void {
  const claimed = claimedPorts(s, self);
  for (const k of ports) {
    // A mapping on every host address (no VIP) collides with one on a specific address, and vice versa.
    const owner =
      claimed.get(portKey(k)) ??
      (k.vip
        ? claimed.get(portKey({ ...k, vip: '' }))
        : [...claimed.entries()].find(([key]) => key.startsWith(`${k.protocol}/${k.port}/`))?.[1]);
    if (owner)
      fail(
        'HCN_E_PORT_ALREADY_EXISTS',
        ctx,
        `(host port ${k.port}/${k.protocol === 6 ? 'TCP' : k.protocol === 17 ? 'UDP' : k.protocol}${k.vip ? ' on ' + k.vip : ''} is already mapped by endpoint ${owner.Name ?? owner.ID})`,
      );
  }
}

/** Checks the requested addresses and assigns one from the network's subnet when none is given. */
export function assignAddresses(
  s: EmulatorState,
  net: HostComputeNetwork,
  requested: IpConfig[] | undefined,
  remote: boolean,
  ctx: Ctx,
): IpConfig[] {
  if (requested !== undefined && !Array.isArray(requested)) fail('E_INVALIDARG', ctx, '(IpConfigurations must be an array)');
  const subnets = subnetsOf(net);
  const used = new Map<string, HostComputeEndpoint>();
  for (const e of s.Endpoints) {
    if (!sameGuid(e.HostComputeNetwork, net.ID)) continue;
    for (const c of e.IpConfigurations ?? []) {
      const ip = parseIp(c.IpAddress);
      if (ip) used.set(`${ip.v}/${ip.n}`, e);
    }
  }
  const out: IpConfig[] = [];
  const configs = requested && requested.length ? requested : remote || !subnets.length ? [] : [{}];
  for (const c of configs) {
    if (c.IpAddress === undefined || c.IpAddress === '') {
      if (remote) fail('E_INVALIDARG', ctx, '(a remote endpoint needs its IpAddress)');
      // Dual stack: [{}, {}] gets one address per family, IPv4 first.
      const families = new Set(out.map((o) => parseIp(o.IpAddress)?.v).concat(configs.map((x) => parseIp(x.IpAddress)?.v)));
      const info =
        subnets.find((x) => x.cidr.ip.v === 4 && !families.has(4)) ??
        subnets.find((x) => !families.has(x.cidr.ip.v)) ??
        subnets.find((x) => x.cidr.ip.v === 4) ??
        subnets[0];
      if (!info) {
        out.push({ ...c });
        continue;
      }
      const taken = new Set<bigint>();
      for (const key of used.keys()) if (key.startsWith(`${info.cidr.ip.v}/`)) taken.add(BigInt(key.slice(2)));
      for (const o of out) {
        const ip = parseIp(o.IpAddress);
        if (ip) taken.add(ip.n);
      }
      const v = nextFree(info.cidr, taken, info.reserveGateway ? info.gateway : undefined);
      if (v === undefined) fail('HCN_E_ADDR_INVALID_OR_RESERVED', ctx, `(no free address left in subnet ${info.subnet.IpAddressPrefix})`);
      out.push({ ...c, IpAddress: formatIp({ v: info.cidr.ip.v, n: v }), PrefixLength: c.PrefixLength ?? info.cidr.prefix });
      continue;
    }
    const ip = parseIp(c.IpAddress);
    if (!ip) fail('HCN_E_INVALID_IP', ctx, `(IpAddress "${c.IpAddress}" is not an IP address)`);
    const owner = used.get(`${ip.v}/${ip.n}`);
    if (owner) fail('HCN_E_ADDR_INVALID_OR_RESERVED', ctx, `(${c.IpAddress} is already used by endpoint ${owner.Name ?? owner.ID})`);
    if (out.some((o) => sameIpText(o.IpAddress, c.IpAddress)))
      fail('HCN_E_ADDR_INVALID_OR_RESERVED', ctx, `(${c.IpAddress} is listed twice)`);
    const info = subnets.find((x) => contains(x.cidr, ip));
    if (remote) {
      // Remote endpoints stand for pods on other nodes: their addresses lie outside the local subnets.
      out.push({ ...c });
      continue;
    }
    if (!info) {
      fail(
        'HCN_E_INVALID_IP',
        ctx,
        `(${c.IpAddress} is not in any subnet of network ${net.Name ?? net.ID}: ${subnets.map((x) => x.subnet.IpAddressPrefix).join(', ') || 'it has none'})`,
      );
    }
    if (isReserved(info.cidr, ip, info.reserveGateway ? info.gateway : undefined)) {
      fail(
        'HCN_E_ADDR_INVALID_OR_RESERVED',
        ctx,
        `(${c.IpAddress} is the network, broadcast or gateway address of ${info.subnet.IpAddressPrefix})`,
      );
    }
    out.push({ ...c, PrefixLength: c.PrefixLength ?? info.cidr.prefix });
  }
  return out;
}

/**
 * The routes HNS gives a local endpoint that brings none: the default route through the gateway of the subnet
 * holding each address (docs/windows.md "Strictness cases"); none when the subnet has no gateway.
 */
export function defaultRoutes(net: HostComputeNetwork, configs: IpConfig[]): { NextHop: string; DestinationPrefix: string }[] {
  const subnets = subnetsOf(net);
  const out: { NextHop: string; DestinationPrefix: string }[] = [];
  for (const c of configs) {
    const ip = parseIp(c.IpAddress);
    const info = ip ? subnets.find((x) => contains(x.cidr, ip)) : undefined;
    if (!info?.gateway) continue;
    const dest = info.cidr.ip.v === 4 ? '0.0.0.0/0' : '::/0';
    if (!out.some((r) => r.DestinationPrefix === dest)) out.push({ NextHop: formatIp(info.gateway), DestinationPrefix: dest });
  }
  return out;
}

export function newMac(s: EmulatorState): string {
  const used = new Set(s.Endpoints.map((e) => (e.MacAddress ? macKey(e.MacAddress) : '')));
  for (;;) {
    const b = randomBytes(3);
    const mac = formatMac([0x00, 0x15, 0x5d, ...b]);
    if (!used.has(macKey(mac))) return mac;
  }
}

/**
 * Addresses HNS never hands out or accepts for an endpoint in a subnet: the network address, the IPv4
 * broadcast address (for prefixes shorter than /31) and the gateway unless the subnet says not to reserve it.
 */
export function isReserved(c: IPNet, ip: IP, gateway?: IP): boolean {
  const network = networkOf(c.ip, c.prefix).n;
  if (ip.n === network && !(c.ip.v === 4 && c.prefix >= 31) && !(c.ip.v === 6 && c.prefix >= 127)) return true;
  if (c.ip.v === 4 && c.prefix < 31 && ip.n === lastOf(c).n) return true;
  return !!gateway && gateway.v === ip.v && gateway.n === ip.n;
}

/** First address of `c` that is neither reserved nor in `used`; undefined when the subnet is full. */
export function nextFree(c: IPNet, used: Set<bigint>, gateway?: IP): bigint | undefined {
  const first = networkOf(c.ip, c.prefix).n;
  const last = first | hostMask(c);
  // Bounded scan: an IPv6 /64 is never exhausted by endpoints, so this stops at the first hole.
  for (let v = first; v <= last; v++) {
    if (isReserved(c, { v: c.ip.v, n: v }, gateway)) continue;
    if (!used.has(v)) return v;
    if (v - first > 1_000_000n) return undefined;
  }
  return undefined;
}

export function portKey(k: PortKey): string {
  return `${k.protocol}/${k.port}/${k.vip}`;
}
