/**
 * win-bridge and win-overlay: the reference plugins' ADD/DEL behaviour (HNS v1 when apiVersion ≠ 2, HCN
 * v2 when it is 2), with their messages, policy order and documents; plus a real CHECK, GC and STATUS.
 * Deliberate differences from the reference are listed in docs/cni.md ("Quirks").
 */
import type { HostNetworkService } from '../../dataplane/types';
import type { HostComputeEndpoint, HostComputeNetwork, HnsV1Endpoint, HnsV1Network } from '../../hns';
import { CniError, ErrCode, annotate } from '../protocol/errors';
import { formatResult, parseResult, type CniResult } from '../protocol/result';
import type { CmdArgs, PluginFuncs } from '../protocol/skel';
import { effectiveDns, loadWinBridgeConf, loadWinOverlayConf, type BaseNetConf, type DnsConf, type Policy, type WinBridgeConf, type WinOverlayConf } from '../config/netconf';
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from '../ipam';
import { formatIP, networkOf, parseCIDR, parseIP, type IP } from '../ipam/ip';
import {
  dsrSupported, endpointName, ipamCall, PAUSE_NETNS, sameId, v1Of, v1Attach, v1Attached, v1CreateEndpoint, v1DeleteEndpoint, v1Detach,
  v1EndpointByName, v1NetworkByName, v2EndpointByName, v2NetworkByName, v2RemoveEndpoint, withService,
} from './common';
import { applyDefaultPA, applyLoopbackDsr, applyOutboundNat, applyPortMappings, hcnEndpointPolicies, hnsEndpointPolicies } from './policies';
import { hcnResult, hnsResult } from './results';
import { buildQuery } from '../../hns/query';
import { networkV2ToV1 } from '../../hns/convert';

export type Flavor = 'win-bridge' | 'win-overlay';
type Api = 1 | 2;

const eqFold = (a: string | undefined, b: string) => (a ?? '').toLowerCase() === b.toLowerCase();

/** What an ADD created, so a later failure can take it back (the reference leaves it behind). */
interface Created {
  undo?: () => Promise<void>;
}

function load(flavor: Flavor, args: CmdArgs): WinBridgeConf | WinOverlayConf {
  return flavor === 'win-bridge' ? loadWinBridgeConf(args.config) : loadWinOverlayConf(args.config);
}

/** endpointMacPrefix + the IPv4 octets in two-digit lowercase hex. */
export function overlayMac(prefix: string, ip: IP): string {
  const n = Number(ip.n);
  return `${prefix}-${[(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0')).join('-')}`;
}

export function validMacPrefix(conf: WinOverlayConf): string {
  if (conf.endpointMacPrefix === '') return '0E-2A';
  if (conf.endpointMacPrefix.length !== 5 || conf.endpointMacPrefix[2] !== '-') {
    throw new Error(`endpointMacPrefix [${conf.endpointMacPrefix}] is invalid, value must be of the format xx-xx`);
  }
  return conf.endpointMacPrefix;
}

/** win-bridge gateway: network address of the IPAM address with 2 added to its last byte (no carry). */
function bridgeGateway(ip: IP, prefix: number): IP {
  const net = networkOf(ip, prefix);
  return { v: net.v, n: (net.n & ~0xffn) | (((net.n & 0xffn) + 2n) & 0xffn) };
}

// ---- documents ---------------------------------------------------------------------------------

interface EpInfo {
  name: string;
  networkId: string;
  ip: string;
  gateway: string;
  mac?: string;
  dns: DnsConf;
}

function hnsEndpointDoc(ep: EpInfo, policies: Policy[]): HnsV1Endpoint {
  const doc: HnsV1Endpoint = { Name: ep.name, VirtualNetwork: ep.networkId };
  const pols = hnsEndpointPolicies(policies);
  if (pols.length) doc.Policies = pols as HnsV1Endpoint['Policies'];
  if (ep.mac) doc.MacAddress = ep.mac;
  if (ep.ip) doc.IPAddress = ep.ip;
  const suffix = (ep.dns.search ?? []).join(',');
  const servers = (ep.dns.nameservers ?? []).join(',');
  if (suffix) doc.DNSSuffix = suffix;
  if (servers) doc.DNSServerList = servers;
  if (ep.gateway) doc.GatewayAddress = ep.gateway;
  return doc;
}

export function hcnEndpointDoc(ep: EpInfo, policies: Policy[]): HostComputeEndpoint {
  const doc: HostComputeEndpoint = { Name: ep.name, HostComputeNetwork: ep.networkId };
  const pols = hcnEndpointPolicies(policies);
  if (pols.length) doc.Policies = pols as HostComputeEndpoint['Policies'];
  if (ep.ip) doc.IpConfigurations = [{ IpAddress: ep.ip }];
  const dns: NonNullable<HostComputeEndpoint['Dns']> = {};
  if (ep.dns.domain) dns.Domain = ep.dns.domain;
  if (ep.dns.search?.length) dns.Search = ep.dns.search;
  if (ep.dns.nameservers?.length) dns.ServerList = ep.dns.nameservers;
  if (ep.dns.options?.length) dns.Options = ep.dns.options;
  doc.Dns = dns;
  if (ep.gateway) doc.Routes = [{ NextHop: ep.gateway, DestinationPrefix: ep.gateway.includes(':') ? '::/0' : '0.0.0.0/0' }];
  if (ep.mac) doc.MacAddress = ep.mac;
  doc.Health = { Extra: {} };
  doc.SchemaVersion = { Major: 2, Minor: 0 };
  return doc;
}

// ---- endpoint add (AddHnsEndpoint / AddHcnEndpoint) -----------------------------------------------

async function addHnsEndpoint(
  s: HostNetworkService, epName: string, networkId: string, containerID: string, netns: string,
  make: () => Promise<HnsV1Endpoint>, created: Created,
): Promise<HnsV1Endpoint> {
  let ep = await v1EndpointByName(s, epName);
  if (ep && !sameId(ep.VirtualNetwork, networkId)) {
    try {
      await v1DeleteEndpoint(s, ep.ID!);
    } catch (e) {
      throw annotate(e, `failed to delete corrupted HNSEndpoint ${epName}`);
    }
    ep = undefined;
  }
  if (netns !== PAUSE_NETNS && !ep) throw new Error(`failed to find HNSEndpoint ${epName}: Endpoint ${epName} not found`);
  let isNew = false;
  if (!ep) {
    let doc: HnsV1Endpoint;
    try {
      doc = await make();
    } catch (e) {
      throw annotate(e, 'failed to make a new HNSEndpoint');
    }
    try {
      ep = await v1CreateEndpoint(s, doc);
    } catch (e) {
      throw annotate(e, 'failed to create the new HNSEndpoint');
    }
    isNew = true;
    const id = ep.ID!;
    created.undo = async () => {
      await v1Detach(s, id, containerID).catch(() => undefined);
      await v1DeleteEndpoint(s, id);
    };
  }
  if (!v1Attached(ep, containerID)) {
    try {
      await v1Attach(s, ep.ID!, containerID);
    } catch (e) {
      if (isNew) {
        try {
          await v1DeleteEndpoint(s, ep.ID!);
          created.undo = undefined;
        } catch (e2) {
          throw annotate(e2, `failed to remove the new HNSEndpoint ${ep.ID} after attaching container ${containerID} failure`);
        }
      }
      throw annotate(e, `failed to attach container ${containerID} to HNSEndpoint ${ep.ID}`);
    }
  }
  return ep;
}

async function addHcnEndpoint(
  s: HostNetworkService, epName: string, networkId: string, netns: string, ifName: string,
  make: () => Promise<HostComputeEndpoint>, created: Created,
): Promise<HostComputeEndpoint> {
  let ep: HostComputeEndpoint | undefined;
  try {
    ep = await v2EndpointByName(s, epName);
  } catch (e) {
    throw annotate(e, `failed to find HostComputeEndpoint ${epName}`);
  }
  if (ep && !sameId(ep.HostComputeNetwork, networkId)) {
    await v2RemoveEndpoint(s, ep);
    ep = undefined;
  }
  let isNew = false;
  if (!ep) {
    let doc: HostComputeEndpoint;
    try {
      doc = await make();
    } catch (e) {
      throw annotate(e, 'failed to make a new HostComputeEndpoint');
    }
    try {
      ep = await s.createEndpoint(networkId, doc);
    } catch (e) {
      throw annotate(e, 'failed to create the new HostComputeEndpoint');
    }
    isNew = true;
    const made = ep;
    created.undo = () => v2RemoveEndpoint(s, { ...made, HostComputeNamespace: netns });
  }
  // Already in this namespace (a repeated ADD): nothing to do, rather than failing on HCN's duplicate add.
  if (!sameId(ep.HostComputeNamespace, netns)) {
    try {
      await s.attachEndpoint(netns, ep.ID!, { interfaceName: ifName });
    } catch (e) {
      if (isNew) {
        try {
          await v2RemoveEndpoint(s, ep);
          created.undo = undefined;
        } catch (e2) {
          throw annotate(e2, `failed to remove the new HostComputeEndpoint ${epName} after adding HostComputeNamespace ${netns} failure`);
        }
      }
      throw annotate(e, `failed to add HostComputeEndpoint ${epName} to HostComputeNamespace ${netns}`);
    }
  }
  return ep;
}

// ---- GenerateHnsEndpoint / GenerateHcnEndpoint (race re-check + loopback DSR) ------------------------

async function generateHns(s: HostNetworkService, conf: BaseNetConf, policies: Policy[], ep: EpInfo): Promise<HnsV1Endpoint> {
  const existing = await v1EndpointByName(s, ep.name);
  if (existing) {
    if (sameId(existing.VirtualNetwork, ep.networkId)) throw new Error(`HNSEndpoint ${ep.name} is already existed`);
    try {
      await v1DeleteEndpoint(s, existing.ID!);
    } catch (e) {
      throw annotate(e, `failed to delete corrupted HNSEndpoint ${ep.name}`);
    }
  }
  if (conf.loopbackDSR && ep.ip && (await dsrSupported(s))) applyLoopbackDsr(policies, 1, ep.ip);
  return hnsEndpointDoc(ep, policies);
}

async function generateHcn(s: HostNetworkService, conf: BaseNetConf, policies: Policy[], ep: EpInfo): Promise<HostComputeEndpoint> {
  const existing = await v2EndpointByName(s, ep.name);
  if (existing) {
    if (sameId(existing.HostComputeNetwork, ep.networkId)) throw new Error(`HostComputeNetwork ${ep.name} is already existed`);
    await v2RemoveEndpoint(s, existing);
  }
  if (conf.loopbackDSR && ep.ip && (await dsrSupported(s))) applyLoopbackDsr(policies, 2, ep.ip);
  return hcnEndpointDoc(ep, policies);
}

// ---- win-bridge -------------------------------------------------------------------------------------

/** ProcessEndpointArgs: IPAM (when configured), gateway = network + 2, ipMasqNetwork, port mappings, DNS. */
async function bridgeEndpointArgs(args: CmdArgs, conf: WinBridgeConf, api: Api, policies: Policy[], epName: string, networkId: string): Promise<EpInfo> {
  let ip = '';
  let gateway = '';
  if (conf.ipam.type !== '') {
    let r: CniResult;
    try {
      r = await ipamAdd(ipamCall(args, conf));
    } catch (e) {
      throw annotate(e, 'error while executing IPAM addition');
    }
    if (!r.ips || r.ips.length === 0) throw new Error('IPAM plugin return is missing IP config');
    const c = parseCIDR(r.ips[0].address);
    if (!c) throw new Error(`error while converting the result from IPAM addition: invalid CIDR address: ${r.ips[0].address}`);
    ip = formatIP(c.ip);
    gateway = formatIP(bridgeGateway(c.ip, c.prefix));
  }
  applyOutboundNat(policies, api, conf.ipMasqNetwork);
  applyPortMappings(policies, api, conf.runtimeConfig.portMappings);
  return { name: epName, networkId, ip, gateway, dns: effectiveDns(conf) };
}

async function bridgeAdd(s: HostNetworkService, args: CmdArgs, conf: WinBridgeConf, created: Created): Promise<CniResult> {
  const name = conf.name;
  const epName = endpointName(args.containerID, args.netns, name);
  const policies = conf.policies.map((p) => ({ ...p }));
  if (conf.apiVersion === 2) {
    let net: HostComputeNetwork;
    try {
      net = await v2NetworkByName(s, name);
    } catch (e) {
      throw annotate(e, `error while getting network ${name}`);
    }
    if (net.Type !== 'L2Bridge' && net.Type !== 'L2Tunnel') throw new Error(`network ${name} is of unexpected type: ${net.Type}`);
    let ep: HostComputeEndpoint;
    try {
      ep = await addHcnEndpoint(s, epName, net.ID!, args.netns, args.ifName, async () => {
        let info: EpInfo;
        try {
          info = await bridgeEndpointArgs(args, conf, 2, policies, epName, net.ID!);
        } catch (e) {
          throw annotate(e, 'error while processing endpoint args');
        }
        try {
          return await generateHcn(s, conf, policies, info);
        } catch (e) {
          throw annotate(e, 'error while generating HostComputeEndpoint');
        }
      }, created);
    } catch (e) {
      throw annotate(e, 'error while adding HostComputeEndpoint');
    }
    try {
      return hcnResult(net, ep);
    } catch (e) {
      throw annotate(e, 'error while constructing HostComputeEndpoint addition result');
    }
  }
  let net: HnsV1Network;
  try {
    net = await v1NetworkByName(s, name);
  } catch (e) {
    throw annotate(e, `error while getting network ${name}`);
  }
  if (!eqFold(net.Type, 'L2Bridge') && !eqFold(net.Type, 'L2Tunnel')) throw new Error(`network ${name} is of unexpected type: ${net.Type}`);
  let ep: HnsV1Endpoint;
  try {
    ep = await addHnsEndpoint(s, epName, net.ID!, args.containerID, args.netns, async () => {
      let info: EpInfo;
      try {
        info = await bridgeEndpointArgs(args, conf, 1, policies, epName, net.ID!);
      } catch (e) {
        throw annotate(e, 'error while processing endpoint args');
      }
      try {
        return await generateHns(s, conf, policies, info);
      } catch (e) {
        throw annotate(e, 'error while generating HNSEndpoint');
      }
    }, created);
  } catch (e) {
    throw annotate(e, 'error while adding HNSEndpoint');
  }
  try {
    return hnsResult(net, ep);
  } catch (e) {
    throw annotate(e, 'error while constructing HNSEndpoint addition result');
  }
}

// ---- win-overlay ------------------------------------------------------------------------------------

async function overlayAdd(s: HostNetworkService, args: CmdArgs, conf: WinOverlayConf, macPrefix: string, created: Created): Promise<CniResult> {
  const name = conf.name;
  const epName = endpointName(args.containerID, args.netns, name);
  const policies = conf.policies.map((p) => ({ ...p }));
  if (conf.apiVersion === 2) {
    let v1net: HnsV1Network | undefined;
    if (s.capabilities.hnsV1) {
      try {
        v1net = await v1NetworkByName(s, name);
      } catch {
        v1net = undefined;
      }
    }
    let net: HostComputeNetwork;
    try {
      net = await v2NetworkByName(s, name);
    } catch (e) {
      throw annotate(e, `error while hcn.GetNetworkByName(${name})`);
    }
    // The reference reads ManagementIP and the subnet gateway from the v1 network; without a v1 surface
    // they come from the same v2 document (ProviderAddress policy, the subnet's default route).
    if (!s.capabilities.hnsV1) v1net = networkV2ToV1(net);
    if (!v1net) throw new Error(`network ${name} not found`);
    if (!eqFold(net.Type, 'Overlay')) throw new Error(`network ${name} is of an unexpected type: ${net.Type}`);
    const hns = v1net;
    let ep: HostComputeEndpoint;
    try {
      ep = await addHcnEndpoint(s, epName, net.ID!, args.netns, args.ifName, async () => {
        let ip = '';
        let mac = '';
        if (conf.ipam.type !== '') {
          let r: CniResult;
          try {
            r = await ipamAdd(ipamCall(args, conf));
          } catch (e) {
            throw annotate(e, 'error while ipam.ExecAdd');
          }
          const c = r.ips?.length ? parseCIDR(r.ips[0].address) : undefined;
          if (!c || c.ip.v !== 4) throw new Error('IPAM plugin return is missing valid IP Address');
          ip = formatIP(c.ip);
          mac = overlayMac(macPrefix, c.ip);
        }
        const dns = effectiveDns(conf);
        if (conf.loopbackDSR && ip && (await dsrSupported(s))) applyLoopbackDsr(policies, 2, ip);
        const gw = parseIP(hns.Subnets?.[0]?.GatewayAddress ?? '');
        applyDefaultPA(policies, 2, hns.ManagementIP ?? '');
        if (conf.ipMasq) applyOutboundNat(policies, 2, hns.Subnets?.[0]?.AddressPrefix ?? '');
        try {
          return await generateHcn(s, conf, policies, { name: epName, networkId: net.ID!, ip, gateway: gw && gw.v === 4 ? formatIP(gw) : '', mac, dns });
        } catch (e) {
          throw annotate(e, 'error while generating HostComputeEndpoint');
        }
      }, created);
    } catch (e) {
      throw annotate(e, `error while AddHcnEndpoint(${epName},${net.ID},${args.netns})`);
    }
    try {
      return hcnResult(net, ep);
    } catch (e) {
      throw annotate(e, 'error while ConstructHcnResult');
    }
  }
  let net: HnsV1Network;
  try {
    net = await v1NetworkByName(s, name);
  } catch (e) {
    throw annotate(e, `error while GETHNSNewtorkByName(${name})`);
  }
  if (!eqFold(net.Type, 'Overlay')) throw new Error(`network ${name} is of an unexpected type: ${net.Type}`);
  let ep: HnsV1Endpoint;
  try {
    ep = await addHnsEndpoint(s, epName, net.ID!, args.containerID, args.netns, async () => {
      let r: CniResult;
      try {
        r = await ipamAdd(ipamCall(args, conf));
      } catch (e) {
        throw annotate(e, 'error while ipam.ExecAdd');
      }
      if (!r.ips || r.ips.length === 0) throw new Error('IPAM plugin return is missing IP config');
      const c = parseCIDR(r.ips[0].address);
      if (!c) throw new Error(`error while NewResultFromResult: invalid CIDR address: ${r.ips[0].address}`);
      if (c.ip.v !== 4) throw new Error("win-overlay doesn't support IPv6 now");
      const subnet = net.Subnets?.[0];
      if (!subnet) throw new Error(`network ${name} has no subnet`);
      const ip = formatIP(c.ip);
      applyDefaultPA(policies, 1, net.ManagementIP ?? '');
      if (conf.ipMasq) applyOutboundNat(policies, 1, subnet.AddressPrefix ?? '');
      const dns = effectiveDns(conf);
      if (conf.loopbackDSR && (await dsrSupported(s))) applyLoopbackDsr(policies, 1, ip);
      return hnsEndpointDoc({ name: epName, networkId: net.ID!, ip, gateway: subnet.GatewayAddress ?? '', mac: overlayMac(macPrefix, c.ip), dns }, policies);
    }, created);
  } catch (e) {
    throw annotate(e, `error while AddHnsEndpoint(${epName},${net.ID},${args.containerID})`);
  }
  try {
    return hnsResult(net, ep);
  } catch (e) {
    throw annotate(e, 'error while constructing HNSEndpoint addition result');
  }
}

// ---- commands -----------------------------------------------------------------------------------------

/**
 * HNS v1 attaches an endpoint to a container ID, which gives a Linux pod no interface: a data plane without
 * v1 (the linux one) needs apiVersion 2 (CNI_NETNS = netns path, CNI_IFNAME created there).
 */
function requireV2(flavor: Flavor, conf: BaseNetConf & { apiVersion: number }, s: HostNetworkService): void {
  if (conf.apiVersion !== 2 && !s.capabilities.hnsV1) {
    throw new CniError(ErrCode.InvalidNetworkConfig, `${flavor}: apiVersion ${conf.apiVersion} (HNS v1) is not supported by the ${s.kind} data plane`,
      'set "apiVersion": 2 in the network config of network ' + conf.name);
  }
}

async function cmdAdd(flavor: Flavor, args: CmdArgs): Promise<string> {
  const conf = load(flavor, args);
  const created: Created = {};
  let ok = false;
  try {
    const out = await withService(args, async (s) => {
      requireV2(flavor, conf, s);
      try {
        const result = flavor === 'win-bridge'
          ? await bridgeAdd(s, args, conf as WinBridgeConf, created)
          : await overlayAdd(s, args, conf as WinOverlayConf, validMacPrefix(conf as WinOverlayConf), created);
        return formatResult(result, conf.cniVersion);
      } catch (e) {
        // Take back an endpoint this ADD created before failing later on (the reference leaves it).
        if (created.undo) await created.undo().catch(() => undefined);
        throw e;
      }
    });
    ok = true;
    return out;
  } finally {
    if (!ok && conf.ipam.type !== '') await ipamDel(ipamCall(args, conf)).catch(() => undefined);
  }
}

async function cmdDel(flavor: Flavor, args: CmdArgs): Promise<void> {
  const conf = load(flavor, args);
  if (conf.ipam.type !== '') await ipamDel(ipamCall(args, conf));
  const epName = endpointName(args.containerID, args.netns, conf.name);
  await withService(args, async (s) => {
    if (conf.apiVersion === 2) {
      let ep: HostComputeEndpoint | undefined;
      try {
        ep = await v2EndpointByName(s, epName);
      } catch (e) {
        throw annotate(e, `failed to find HostComputeEndpoint ${epName}`);
      }
      if (ep) await v2RemoveEndpoint(s, ep);
      return;
    }
    // Without v1 the ADD refused apiVersion 1, so there is nothing to remove (DEL stays idempotent).
    if (args.netns === '' || !s.capabilities.hnsV1) return;
    let ep: HnsV1Endpoint | undefined;
    try {
      ep = await v1EndpointByName(s, epName);
    } catch (e) {
      throw annotate(e, `failed to find HNSEndpoint ${epName}`);
    }
    if (!ep) return;
    if (args.netns !== PAUSE_NETNS) {
      await v1Detach(s, ep.ID!, args.containerID).catch(() => undefined);
      return;
    }
    if (v1Attached(ep, args.containerID)) await v1Detach(s, ep.ID!, args.containerID).catch(() => undefined);
    await v1DeleteEndpoint(s, ep.ID!).catch(() => undefined);
  });
}

/** CHECK: the endpoint exists on the configured network, is attached, and carries prevResult's address. */
async function cmdCheck(flavor: Flavor, args: CmdArgs): Promise<void> {
  const conf = load(flavor, args);
  const epName = endpointName(args.containerID, args.netns, conf.name);
  const ip = await withService(args, async (s) => {
    requireV2(flavor, conf, s);
    if (conf.apiVersion === 2) {
      const net = await v2NetworkByName(s, conf.name).catch((e) => { throw annotate(e, `error while getting network ${conf.name}`); });
      const ep = await v2EndpointByName(s, epName);
      if (!ep) throw new Error(`CHECK: HostComputeEndpoint ${epName} not found`);
      if (!sameId(ep.HostComputeNetwork, net.ID)) throw new Error(`CHECK: HostComputeEndpoint ${epName} is on network ${ep.HostComputeNetwork}, not on ${conf.name} (${net.ID})`);
      if (!sameId(ep.HostComputeNamespace, args.netns)) {
        throw new Error(`CHECK: HostComputeEndpoint ${epName} is not attached to namespace ${args.netns} (attached to ${ep.HostComputeNamespace || 'none'})`);
      }
      return ep.IpConfigurations?.[0]?.IpAddress ?? '';
    }
    const net = await v1NetworkByName(s, conf.name).catch((e) => { throw annotate(e, `error while getting network ${conf.name}`); });
    const ep = await v1EndpointByName(s, epName);
    if (!ep) throw new Error(`CHECK: HNSEndpoint ${epName} not found`);
    if (!sameId(ep.VirtualNetwork, net.ID)) throw new Error(`CHECK: HNSEndpoint ${epName} is on network ${ep.VirtualNetwork}, not on ${conf.name} (${net.ID})`);
    if (!v1Attached(ep, args.containerID)) throw new Error(`CHECK: HNSEndpoint ${epName} is not attached to container ${args.containerID}`);
    return ep.IPAddress ?? '';
  });
  checkPrevResult(conf, epName, ip);
  if (conf.ipam.type !== '') await ipamCheck(ipamCall(args, conf));
}

export function checkPrevResult(conf: BaseNetConf, epName: string, ip: string): void {
  if (conf.prevResult === undefined) return;
  let prev: CniResult;
  try {
    prev = parseResult(conf.prevResult, conf.cniVersion);
  } catch (e) {
    throw new CniError(ErrCode.DecodingFailure, `CHECK: cannot read prevResult: ${(e as Error).message}`);
  }
  const addrs = (prev.ips ?? []).map((x) => x.address.split('/')[0]);
  if (addrs.length > 0 && !addrs.includes(ip)) {
    throw new Error(`CHECK: endpoint ${epName} has address ${ip || 'none'}, prevResult has ${addrs.join(', ')}`);
  }
}

/** GC: remove this network's endpoints and IPAM reservations of attachments not in cni.dev/valid-attachments. */
async function cmdGc(flavor: Flavor, args: CmdArgs): Promise<void> {
  const conf = load(flavor, args);
  const valid = conf.validAttachments ?? [];
  const errors: string[] = [];
  await withService(args, async (s) => {
    const keep = new Set(valid.map((a) => `${a.containerID}_${conf.name}`));
    const suffix = `_${conf.name}`;
    if (conf.apiVersion === 2) {
      let net: HostComputeNetwork;
      try {
        net = await v2NetworkByName(s, conf.name);
      } catch {
        return;
      }
      const eps = await s.listEndpoints(buildQuery());
      for (const ep of eps) {
        if (!sameId(ep.HostComputeNetwork, net.ID) || !ep.Name?.endsWith(suffix) || keep.has(ep.Name)) continue;
        await v2RemoveEndpoint(s, ep).catch((e) => errors.push(`GC of endpoint ${ep.Name}: ${(e as Error).message}`));
      }
      return;
    }
    let net: HnsV1Network;
    try {
      net = await v1NetworkByName(s, conf.name);
    } catch {
      return;
    }
    const eps = (await v1Of(s).call<HnsV1Endpoint[] | null>('GET', '/endpoints/')) ?? [];
    for (const ep of eps) {
      if (!sameId(ep.VirtualNetwork, net.ID) || !ep.Name?.endsWith(suffix) || keep.has(ep.Name)) continue;
      try {
        for (const c of ep.SharedContainers ?? []) await v1Detach(s, ep.ID!, c).catch(() => undefined);
        await v1DeleteEndpoint(s, ep.ID!);
      } catch (e) {
        errors.push(`GC of endpoint ${ep.Name}: ${(e as Error).message}`);
      }
    }
  });
  if (conf.ipam.type !== '') {
    try {
      await ipamGc(ipamCall(args, conf), valid);
    } catch (e) {
      errors.push(`IPAM GC: ${(e as Error).message}`);
    }
  }
  if (errors.length) throw new Error(errors.join('; '));
}

/** STATUS: the HNS network must exist (code 50 otherwise), then IPAM's STATUS (exhausted range → 50). */
async function cmdStatus(flavor: Flavor, args: CmdArgs): Promise<void> {
  const conf = load(flavor, args);
  await withService(args, async (s) => {
    requireV2(flavor, conf, s);
    try {
      if (conf.apiVersion === 2) await v2NetworkByName(s, conf.name);
      else await v1NetworkByName(s, conf.name);
    } catch (e) {
      throw new CniError(ErrCode.PluginNotAvailable, `network ${conf.name} is not available`, (e as Error).message);
    }
  });
  if (conf.ipam.type !== '') await ipamStatus(ipamCall(args, conf));
}

export function windowsPlugin(flavor: Flavor): PluginFuncs {
  return {
    add: (a) => cmdAdd(flavor, a),
    del: (a) => cmdDel(flavor, a),
    check: (a) => cmdCheck(flavor, a),
    gc: (a) => cmdGc(flavor, a),
    status: (a) => cmdStatus(flavor, a),
  };
}
