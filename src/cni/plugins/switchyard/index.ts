/**
 * The `switchyard` CNI type: the win-* engine with an explicit mode and a schema of its own
 * (docs/cni.md). HCN v2 documents only, through the HostNetworkService interface, so the same config works
 * on Windows (hcn data plane) and on Linux (linux data plane: CNI_NETNS is the netns path, CNI_IFNAME the
 * interface created inside it). Its result is a full CNI result: the interface in the sandbox, every
 * address with its interface index, default routes, DNS.
 */
import type { DataplaneCapabilities, HostNetworkService } from '../../../dataplane/types';
import type { HostComputeEndpoint, HostComputeNetwork } from '../../../hns';
import { buildQuery } from '../../../hns/query';
import { CniError, ErrCode, annotate } from '../../protocol/errors';
import { formatResult, type CniResult, type CniRoute } from '../../protocol/result';
import type { CmdArgs, PluginFuncs } from '../../protocol/skel';
import { effectiveDns, loadSwitchyardConf, type SwitchyardConf, type SwitchyardMode } from '../../config/netconf';
import { ipamCheck, ipamGc, ipamStatus } from '../../ipam';
import { contains, formatIP, networkOf, parseCIDR, parseIP, type IP } from '../../ipam/ip';
import {
  checkCachedNetwork,
  dsrSupported,
  endpointName,
  ipamCall,
  networkGone,
  sameId,
  v2EndpointByName,
  v2NetworkByName,
  v2NetworkForAdd,
  v2RemoveEndpoint,
  v2RemoveEndpointById,
  withService,
} from '../common/hns';
import { applyDefaultPA, applyLoopbackDsr, applyOutboundNat, applyPortMappings, hcnEndpointPolicies } from '../common/policies';
import { allocateFor, overlayMac, type Created } from '../common/endpoints';
import { toKernelMac } from '../../../net/mac';
import { gcRepair, guardedAdd, releaseAfterDel, scopeOf, statusCheck } from '../common/attachment';
import { checkPrevResult, reportOrphans } from '../common/win-commands';

const MODE_TYPES: Record<SwitchyardMode, string[]> = {
  l2bridge: ['L2Bridge', 'L2Tunnel'],
  overlay: ['Overlay'],
  transparent: ['Transparent'],
};

async function lookupNetwork(s: HostNetworkService, conf: SwitchyardConf, forAdd = false): Promise<HostComputeNetwork> {
  let net: HostComputeNetwork;
  try {
    net = await (forAdd ? v2NetworkForAdd : v2NetworkByName)(s, conf.network);
  } catch (e) {
    throw annotate(
      e,
      `network ${conf.network} for CNI network ${conf.name} (mode ${conf.mode}) is not available: create the HNS network first or set "network"`,
    );
  }
  const want = MODE_TYPES[conf.mode];
  if (!want.some((t) => t.toLowerCase() === (net.Type ?? '').toLowerCase())) {
    throw new Error(`network ${conf.network} has type ${net.Type}, but mode "${conf.mode}" needs ${want.join(' or ')}`);
  }
  return net;
}

interface SubnetInfo {
  prefix: string;
  gateway?: string;
}

function networkSubnets(net: HostComputeNetwork): SubnetInfo[] {
  const out: SubnetInfo[] = [];
  for (const ipam of net.Ipams ?? []) {
    for (const sub of ipam.Subnets ?? []) {
      if (!sub.IpAddressPrefix) continue;
      const gw = sub.Routes?.find((r) => r.NextHop && (r.DestinationPrefix === '0.0.0.0/0' || r.DestinationPrefix === '::/0'))?.NextHop;
      out.push({ prefix: sub.IpAddressPrefix, gateway: gw });
    }
  }
  return out;
}

function subnetOf(net: HostComputeNetwork, ip: IP): SubnetInfo | undefined {
  return networkSubnets(net).find((sn) => {
    const c = parseCIDR(sn.prefix);
    return c && contains({ ip: c.ip, prefix: c.prefix }, ip);
  });
}

function plus2(ip: IP, prefix: number): string {
  const n = networkOf(ip, prefix);
  return formatIP({ v: n.v, n: (n.n & ~0xffn) | (((n.n & 0xffn) + 2n) & 0xffn) });
}

function providerAddress(net: HostComputeNetwork): string {
  const p = (net.Policies ?? []).find((x) => x.Type === 'ProviderAddress') as { Settings?: { ProviderAddress?: string } } | undefined;
  return p?.Settings?.ProviderAddress ?? '';
}

async function buildEndpoint(
  s: HostNetworkService,
  args: CmdArgs,
  conf: SwitchyardConf,
  net: HostComputeNetwork,
  epName: string,
  created: Created,
): Promise<HostComputeEndpoint> {
  const policies = conf.policies.map((p) => ({ ...p }));
  const ipConfigs: { IpAddress: string; PrefixLength: number }[] = [];
  const routes: { NextHop: string; DestinationPrefix: string }[] = [];
  let mac = '';
  let firstV4: IP | undefined;
  if (conf.ipam.type !== '') {
    let r: CniResult;
    try {
      r = await allocateFor(ipamCall(args, conf), created);
    } catch (e) {
      throw annotate(e, `IPAM ${conf.ipam.type} ADD failed`);
    }
    if (!r.ips || r.ips.length === 0) throw new Error(`IPAM ${conf.ipam.type} returned no address`);
    for (const ipc of r.ips) {
      const c = parseCIDR(ipc.address);
      if (!c) throw new Error(`IPAM ${conf.ipam.type} returned an invalid address ${JSON.stringify(ipc.address)}`);
      ipConfigs.push({ IpAddress: formatIP(c.ip), PrefixLength: c.prefix });
      const sn = subnetOf(net, c.ip);
      const gw = conf.gateway === 'plus2' && c.ip.v === 4 ? plus2(c.ip, c.prefix) : (sn?.gateway ?? ipc.gateway);
      const dst = c.ip.v === 4 ? '0.0.0.0/0' : '::/0';
      if (gw && !routes.some((x) => x.DestinationPrefix === dst)) routes.push({ NextHop: gw, DestinationPrefix: dst });
      if (c.ip.v === 4) {
        firstV4 ??= c.ip;
        if (conf.ipMasq && sn) applyOutboundNat(policies, 2, sn.prefix);
      }
    }
  }
  for (const cidr of conf.outboundNatExceptions) applyOutboundNat(policies, 2, cidr);
  applyPortMappings(policies, 2, conf.runtimeConfig.portMappings);
  if (conf.mode === 'overlay') {
    applyDefaultPA(policies, 2, providerAddress(net));
    if (firstV4) mac = overlayMac(conf.endpointMacPrefix || '0E-2A', firstV4);
  }
  if (conf.loopbackDSR && ipConfigs.length > 0 && (await dsrSupported(s))) applyLoopbackDsr(policies, 2, ipConfigs[0].IpAddress);
  const dns = effectiveDns(conf);
  const doc: HostComputeEndpoint = { Name: epName, HostComputeNetwork: net.ID };
  const pols = hcnEndpointPolicies(policies);
  if (pols.length) doc.Policies = pols as HostComputeEndpoint['Policies'];
  if (ipConfigs.length) doc.IpConfigurations = ipConfigs;
  doc.Dns = {
    ...(dns.domain ? { Domain: dns.domain } : {}),
    ...(dns.search?.length ? { Search: dns.search } : {}),
    ...(dns.nameservers?.length ? { ServerList: dns.nameservers } : {}),
    ...(dns.options?.length ? { Options: dns.options } : {}),
  };
  if (routes.length) doc.Routes = routes;
  if (mac) doc.MacAddress = mac;
  doc.SchemaVersion = { Major: 2, Minor: 0 };
  return doc;
}

/** Linux tools print MACs as 0e:2a:…; HNS writes 0E-2A-…. */
function macFor(format: DataplaneCapabilities['macFormat'], mac: string | undefined): string | undefined {
  if (!mac) return undefined;
  return format === 'colon' ? toKernelMac(mac) : mac;
}

function result(
  conf: SwitchyardConf,
  args: CmdArgs,
  net: HostComputeNetwork,
  ep: HostComputeEndpoint,
  macFormat: DataplaneCapabilities['macFormat'],
): CniResult {
  const ips: NonNullable<CniResult['ips']> = [];
  for (const c of ep.IpConfigurations ?? []) {
    const ip = c.IpAddress ? parseIP(c.IpAddress) : undefined;
    if (!ip) continue;
    const prefix = c.PrefixLength ?? (subnetOf(net, ip) ? parseCIDR(subnetOf(net, ip)!.prefix)!.prefix : ip.v === 4 ? 32 : 128);
    const gw = (ep.Routes ?? []).find((r) => r.NextHop && (parseIP(r.NextHop)?.v ?? 0) === ip.v)?.NextHop;
    ips.push({ interface: 0, address: `${formatIP(ip)}/${prefix}`, ...(gw ? { gateway: gw } : {}) });
  }
  const routes: CniRoute[] = (ep.Routes ?? [])
    .filter((r) => r.DestinationPrefix)
    .map((r) => ({ dst: r.DestinationPrefix!, ...(r.NextHop ? { gw: r.NextHop } : {}) }));
  const out: CniResult = {
    cniVersion: '1.1.0',
    interfaces: [{ name: args.ifName, ...(ep.MacAddress ? { mac: macFor(macFormat, ep.MacAddress) } : {}), sandbox: args.netns }],
    ips,
    routes,
    dns: {
      ...(ep.Dns?.ServerList?.length ? { nameservers: ep.Dns.ServerList } : {}),
      ...(ep.Dns?.Domain ? { domain: ep.Dns.Domain } : {}),
      ...(ep.Dns?.Search?.length ? { search: ep.Dns.Search } : {}),
      ...(ep.Dns?.Options?.length ? { options: ep.Dns.Options } : {}),
    },
  };
  if (ips.length === 0) throw new Error(`endpoint ${ep.Name} on network ${conf.network} has no IP address`);
  return out;
}

async function cmdAdd(args: CmdArgs): Promise<string> {
  const conf = loadSwitchyardConf(args.config, args.command);
  const call = conf.ipam.type !== '' ? ipamCall(args, conf) : undefined;
  return guardedAdd(args, call, async (s, created) => {
    const net = await lookupNetwork(s, conf, true);
    const epName = endpointName(args.containerID, args.netns, conf.name);
    let ep = await v2EndpointByName(s, epName);
    if (ep && !sameId(ep.HostComputeNetwork, net.ID)) {
      checkCachedNetwork(s, net.ID!, epName);
      await v2RemoveEndpoint(s, ep);
      ep = undefined;
    }
    if (!ep) {
      const doc = await buildEndpoint(s, args, conf, net, epName, created);
      try {
        ep = await s.createEndpoint(net.ID!, doc);
      } catch (e) {
        networkGone(s, net.ID, e);
        throw annotate(e, `failed to create endpoint ${epName} on network ${conf.network}`);
      }
      const id = ep.ID!;
      created.undo = () => v2RemoveEndpointById(s, id);
    } else {
      const id = ep.ID!;
      created.reused = {
        ips: (ep.IpConfigurations ?? []).map((c) => c.IpAddress ?? '').filter((x) => x !== ''),
        remove: () => v2RemoveEndpointById(s, id),
      };
    }
    if (!sameId(ep.HostComputeNamespace, args.netns)) {
      try {
        await s.attachEndpoint(args.netns, ep.ID!, { interfaceName: args.ifName });
      } catch (e) {
        throw annotate(e, `failed to attach endpoint ${epName} to namespace ${args.netns}`);
      }
      // Some data planes know the interface's MAC only once it exists in the sandbox.
      if (!s.capabilities.macKnownBeforeAttach || !ep.MacAddress) ep = await s.getEndpoint(ep.ID!);
    }
    return formatResult(result(conf, args, net, ep, s.capabilities.macFormat), conf.cniVersion);
  });
}

async function cmdDel(args: CmdArgs): Promise<void> {
  const conf = loadSwitchyardConf(args.config, args.command);
  const epName = endpointName(args.containerID, args.netns, conf.name);
  // Endpoint first, reservation second (common/attachment.ts).
  await withService(args, async (s) => {
    const ep = await v2EndpointByName(s, epName);
    if (ep) await v2RemoveEndpoint(s, ep);
  });
  if (conf.ipam.type !== '') await releaseAfterDel(ipamCall(args, conf));
}

async function cmdCheck(args: CmdArgs): Promise<void> {
  const conf = loadSwitchyardConf(args.config, args.command);
  const epName = endpointName(args.containerID, args.netns, conf.name);
  const ip = await withService(args, async (s) => {
    const net = await lookupNetwork(s, conf);
    const ep = await v2EndpointByName(s, epName);
    if (!ep) throw new Error(`CHECK: endpoint ${epName} not found`);
    if (!sameId(ep.HostComputeNetwork, net.ID))
      throw new Error(`CHECK: endpoint ${epName} is on network ${ep.HostComputeNetwork}, not on ${conf.network} (${net.ID})`);
    if (!sameId(ep.HostComputeNamespace, args.netns))
      throw new Error(`CHECK: endpoint ${epName} is not attached to namespace ${args.netns}`);
    return ep.IpConfigurations?.[0]?.IpAddress ?? '';
  });
  checkPrevResult(conf, epName, ip);
  if (conf.ipam.type !== '') await ipamCheck(ipamCall(args, conf));
}

async function cmdGc(args: CmdArgs): Promise<void> {
  const conf = loadSwitchyardConf(args.config, args.command);
  const valid = conf.validAttachments ?? [];
  const errors: string[] = [];
  const call = conf.ipam.type !== '' ? ipamCall(args, conf) : undefined;
  let networkId: string | undefined;
  await withService(args, async (s) => {
    let net: HostComputeNetwork;
    try {
      net = await v2NetworkByName(s, conf.network);
    } catch {
      return;
    }
    networkId = net.ID;
    const keep = new Set(valid.map((a) => `${a.containerID}_${conf.name}`));
    for (const ep of await s.listEndpoints(buildQuery())) {
      if (!sameId(ep.HostComputeNetwork, net.ID) || !ep.Name?.endsWith(`_${conf.name}`) || keep.has(ep.Name)) continue;
      await v2RemoveEndpoint(s, ep).catch((e) => errors.push(`GC of endpoint ${ep.Name}: ${(e as Error).message}`));
    }
  });
  if (call) await ipamGc(call, valid).catch((e) => errors.push(`IPAM GC: ${(e as Error).message}`));
  if (networkId) {
    const id = networkId;
    await withService(args, (s) => gcRepair(s, scopeOf(call, conf.name, id), valid)).catch((e) =>
      errors.push(`invariant repair: ${(e as Error).message}`),
    );
  }
  if (errors.length) throw new Error(errors.join('; '));
}

async function cmdStatus(args: CmdArgs): Promise<void> {
  const conf = loadSwitchyardConf(args.config, args.command);
  await withService(args, async (s) => {
    let net: HostComputeNetwork;
    try {
      net = await lookupNetwork(s, conf);
    } catch (e) {
      throw new CniError(ErrCode.PluginNotAvailable, `network ${conf.network} is not available`, (e as Error).message);
    }
    if (net.ID) reportOrphans(await statusCheck(s, scopeOf(conf.ipam.type !== '' ? ipamCall(args, conf) : undefined, conf.name, net.ID)));
  });
  if (conf.ipam.type !== '') await ipamStatus(ipamCall(args, conf));
}

export function switchyardPlugin(): PluginFuncs {
  return { add: cmdAdd, del: cmdDel, check: cmdCheck, gc: cmdGc, status: cmdStatus };
}
