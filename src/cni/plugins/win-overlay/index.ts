/**
 * win-overlay: the reference plugin's ADD (HNS v1 when apiVersion ≠ 2, HCN v2 when it is 2) over an
 * Overlay network, with its messages, policy order and documents; DEL, CHECK, GC and STATUS are the
 * win-* family's (common/win-commands.ts). The v1 and v2 ADD paths stay apart: the reference's differ in
 * what they check and say (IPAM optional in v2 only, the v1 network looked up in both), and the error
 * texts are part of the compatibility.
 */
import type { HostNetworkService } from '../../../dataplane/types';
import type { HostComputeEndpoint, HostComputeNetwork, HnsV1Endpoint, HnsV1Network } from '../../../hns';
import { networkV2ToV1 } from '../../../hns/convert';
import { annotate } from '../../protocol/errors';
import type { CniResult } from '../../protocol/result';
import type { CmdArgs, PluginFuncs } from '../../protocol/skel';
import { effectiveDns, type WinOverlayConf } from '../../config/netconf';
import { formatIP, parseCIDR, parseIP } from '../../ipam/ip';
import { dsrSupported, endpointName, ipamCall, v1NetworkForAdd, v2NetworkForAdd } from '../common/hns';
import { applyDefaultPA, applyLoopbackDsr, applyOutboundNat } from '../common/policies';
import { hcnResult, hnsResult } from '../common/results';
import {
  addHcnEndpoint,
  addHnsEndpoint,
  allocateFor,
  eqFold,
  generateHcn,
  hnsEndpointDoc,
  overlayMac,
  type Created,
} from '../common/endpoints';
import { windowsFamilyPlugin } from '../common/win-commands';

export function validMacPrefix(conf: WinOverlayConf): string {
  if (conf.endpointMacPrefix === '') return '0E-2A';
  if (conf.endpointMacPrefix.length !== 5 || conf.endpointMacPrefix[2] !== '-') {
    throw new Error('endpointMacPrefix is invalid, value must be of the format xx-xx');
  }
  return conf.endpointMacPrefix;
}

async function overlayAdd(
  s: HostNetworkService,
  args: CmdArgs,
  conf: WinOverlayConf,
  macPrefix: string,
  created: Created,
): Promise<CniResult> {
  const name = conf.name;
  const epName = endpointName(args.containerID, args.netns, name);
  const policies = conf.policies.map((p) => ({ ...p }));
  if (conf.apiVersion === 2) {
    let v1net: HnsV1Network | undefined;
    if (s.capabilities.hnsV1) {
      try {
        v1net = await v1NetworkForAdd(s, name);
      } catch {
        v1net = undefined;
      }
    }
    let net: HostComputeNetwork;
    try {
      net = await v2NetworkForAdd(s, name);
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
      ep = await addHcnEndpoint(
        s,
        epName,
        net.ID!,
        args.netns,
        args.ifName,
        async () => {
          let ip = '';
          let mac = '';
          if (conf.ipam.type !== '') {
            let r: CniResult;
            try {
              r = await allocateFor(ipamCall(args, conf), created);
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
            return await generateHcn(s, conf, policies, {
              name: epName,
              networkId: net.ID!,
              ip,
              gateway: gw && gw.v === 4 ? formatIP(gw) : '',
              mac,
              dns,
            });
          } catch (e) {
            throw annotate(e, 'error while generating HostComputeEndpoint');
          }
        },
        created,
      );
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
    net = await v1NetworkForAdd(s, name);
  } catch (e) {
    throw annotate(e, `error while GETHNSNewtorkByName(${name})`);
  }
  if (!eqFold(net.Type, 'Overlay')) throw new Error(`network ${name} is of an unexpected type: ${net.Type}`);
  let ep: HnsV1Endpoint;
  try {
    ep = await addHnsEndpoint(
      s,
      epName,
      net.ID!,
      args.containerID,
      args.netns,
      async () => {
        let r: CniResult;
        try {
          r = await allocateFor(ipamCall(args, conf), created);
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
        return hnsEndpointDoc(
          { name: epName, networkId: net.ID!, ip, gateway: subnet.GatewayAddress ?? '', mac: overlayMac(macPrefix, c.ip), dns },
          policies,
        );
      },
      created,
    );
  } catch (e) {
    throw annotate(e, `error while AddHnsEndpoint(${epName},${net.ID},${args.containerID})`);
  }
  try {
    return hnsResult(net, ep);
  } catch (e) {
    throw annotate(e, 'error while constructing HNSEndpoint addition result');
  }
}

/** The win-overlay CNI plugin (the executable is src/cni/bin/win-overlay.ts). */
export function winOverlayPlugin(): PluginFuncs {
  return windowsFamilyPlugin('win-overlay', (s, args, conf, created) =>
    overlayAdd(s, args, conf as WinOverlayConf, validMacPrefix(conf as WinOverlayConf), created),
  );
}
