/**
 * win-bridge: the reference plugin's ADD (HNS v1 when apiVersion ≠ 2, HCN v2 when it is 2) over an
 * L2Bridge/L2Tunnel network, with its messages, policy order and documents; DEL, CHECK, GC and STATUS are
 * the win-* family's (common/win-commands.ts). The reference writes the v1 and v2 ADD twice; here one flow
 * runs over the API surface the config picks, which keeps the differences that are compatibility (type
 * check case, object names in messages, document shape) in the two surface records.
 */
import type { HostNetworkService } from '../../../dataplane/types';
import type { HostComputeEndpoint, HostComputeNetwork, HnsV1Endpoint, HnsV1Network } from '../../../hns';
import { annotate } from '../../protocol/errors';
import type { CniResult } from '../../protocol/result';
import type { CmdArgs, PluginFuncs } from '../../protocol/skel';
import { effectiveDns, type BaseNetConf, type Policy, type WinBridgeConf } from '../../config/netconf';
import { formatIP, parseCIDR } from '../../ipam/ip';
import { endpointName, ipamCall, v1NetworkForAdd, v2NetworkForAdd } from '../common/hns';
import { applyOutboundNat, applyPortMappings } from '../common/policies';
import { hcnResult, hnsResult } from '../common/results';
import {
  addHcnEndpoint,
  addHnsEndpoint,
  allocateFor,
  eqFold,
  generateHcn,
  generateHns,
  type Created,
  type EpInfo,
} from '../common/endpoints';
import { windowsFamilyPlugin } from '../common/win-commands';
import { bridgeGateway, requireGatewayOwner } from './gateway';

type Api = 1 | 2;

/** ProcessEndpointArgs: IPAM (when configured), gateway = network + 2, ipMasqNetwork, port mappings, DNS. */
async function bridgeEndpointArgs(
  args: CmdArgs,
  conf: WinBridgeConf,
  api: Api,
  policies: Policy[],
  epName: string,
  networkId: string,
  created: Created,
): Promise<EpInfo> {
  let ip = '';
  let gateway = '';
  if (conf.ipam.type !== '') {
    let r: CniResult;
    try {
      r = await allocateFor(ipamCall(args, conf), created);
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

/** One API surface of the ADD: how the network is found and checked, how the endpoint is made and reported. */
interface Surface<N extends { ID?: string; Type?: string }, E> {
  api: Api;
  /** The object name the reference's messages use. */
  object: 'HostComputeEndpoint' | 'HNSEndpoint';
  network(s: HostNetworkService, name: string): Promise<N>;
  /** v2 compares the type exactly, v1 case-insensitively (as the reference). */
  bridgeType(type: string | undefined): boolean;
  add(s: HostNetworkService, args: CmdArgs, epName: string, networkId: string, make: () => Promise<unknown>, created: Created): Promise<E>;
  generate(s: HostNetworkService, conf: BaseNetConf, policies: Policy[], info: EpInfo): Promise<unknown>;
  result(net: N, ep: E): CniResult;
}

const V2: Surface<HostComputeNetwork, HostComputeEndpoint> = {
  api: 2,
  object: 'HostComputeEndpoint',
  network: v2NetworkForAdd,
  bridgeType: (t) => t === 'L2Bridge' || t === 'L2Tunnel',
  add: (s, args, epName, networkId, make, created) =>
    addHcnEndpoint(s, epName, networkId, args.netns, args.ifName, make as () => Promise<HostComputeEndpoint>, created),
  generate: generateHcn,
  result: hcnResult,
};

const V1: Surface<HnsV1Network, HnsV1Endpoint> = {
  api: 1,
  object: 'HNSEndpoint',
  network: v1NetworkForAdd,
  bridgeType: (t) => eqFold(t, 'L2Bridge') || eqFold(t, 'L2Tunnel'),
  add: (s, args, epName, networkId, make, created) =>
    addHnsEndpoint(s, epName, networkId, args.containerID, args.netns, make as () => Promise<HnsV1Endpoint>, created),
  generate: generateHns,
  result: hnsResult,
};

async function addOver<N extends { ID?: string; Type?: string }, E>(
  api: Surface<N, E>,
  s: HostNetworkService,
  args: CmdArgs,
  conf: WinBridgeConf,
  created: Created,
): Promise<CniResult> {
  const name = conf.name;
  const epName = endpointName(args.containerID, args.netns, name);
  const policies = conf.policies.map((p) => ({ ...p }));
  let net: N;
  try {
    net = await api.network(s, name);
  } catch (e) {
    throw annotate(e, `error while getting network ${name}`);
  }
  if (!api.bridgeType(net.Type)) throw new Error(`network ${name} is of unexpected type: ${net.Type}`);
  if (conf.ipam.type !== '') await requireGatewayOwner(s, name, net.ID!);
  let ep: E;
  try {
    ep = await api.add(
      s,
      args,
      epName,
      net.ID!,
      async () => {
        let info: EpInfo;
        try {
          info = await bridgeEndpointArgs(args, conf, api.api, policies, epName, net.ID!, created);
        } catch (e) {
          throw annotate(e, 'error while processing endpoint args');
        }
        try {
          return await api.generate(s, conf, policies, info);
        } catch (e) {
          throw annotate(e, `error while generating ${api.object}`);
        }
      },
      created,
    );
  } catch (e) {
    throw annotate(e, `error while adding ${api.object}`);
  }
  try {
    return api.result(net, ep);
  } catch (e) {
    throw annotate(e, `error while constructing ${api.object} addition result`);
  }
}

function bridgeAdd(s: HostNetworkService, args: CmdArgs, conf: WinBridgeConf, created: Created): Promise<CniResult> {
  return conf.apiVersion === 2 ? addOver(V2, s, args, conf, created) : addOver(V1, s, args, conf, created);
}

/** The win-bridge CNI plugin (the executable is src/cni/bin/win-bridge.ts). */
export function winBridgePlugin(): PluginFuncs {
  return windowsFamilyPlugin('win-bridge', (s, args, conf, created) => bridgeAdd(s, args, conf as WinBridgeConf, created));
}
