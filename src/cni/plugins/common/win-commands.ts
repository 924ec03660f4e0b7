/**
 * The win-bridge / win-overlay command set around each plugin's ADD: the ADD frame (config, HNS v1 gate,
 * undo and IPAM release on failure), DEL as the reference does it, and a real CHECK, GC and STATUS.
 * Deliberate differences from the reference are listed in docs/cni.md ("Quirks").
 */
import type { HostNetworkService } from '../../../dataplane/types';
import type { HostComputeEndpoint, HostComputeNetwork, HnsV1Endpoint, HnsV1Network } from '../../../hns';
import { buildQuery } from '../../../hns/query';
import { CniError, ErrCode, annotate } from '../../protocol/errors';
import { formatResult, parseResult, type CniResult } from '../../protocol/result';
import type { CmdArgs, PluginFuncs } from '../../protocol/skel';
import { loadWinBridgeConf, loadWinOverlayConf, type BaseNetConf, type WinBridgeConf, type WinOverlayConf } from '../../config/netconf';
import { ipamCheck, ipamGc, ipamStatus } from '../../ipam';
import {
  endpointName,
  ipamCall,
  PAUSE_NETNS,
  sameId,
  v1Of,
  v1Attached,
  v1DeleteEndpoint,
  v1Detach,
  v1EndpointByName,
  v1NetworkByName,
  v2EndpointByName,
  v2NetworkByName,
  v2RemoveEndpoint,
  withService,
} from './hns';
import type { Created } from './endpoints';
import { gcRepair, guardedAdd, releaseAfterDel, scopeOf, statusCheck } from './attachment';
import { describe, type Violation } from '../../invariant';
import { writeCallStderr } from '../../call-context';

/** STATUS succeeds with orphan reservations (they only waste addresses); it says so on stderr. */
export function reportOrphans(found: Violation[]): void {
  for (const v of found) writeCallStderr(Buffer.from(`switchyard: ${describe(v)} (GC releases it)\n`));
}

export type Flavor = 'win-bridge' | 'win-overlay';
export type WinConf = WinBridgeConf | WinOverlayConf;
/** A plugin's ADD proper: the endpoint on the network, returned as the plugin's result. */
export type AddFn = (s: HostNetworkService, args: CmdArgs, conf: WinConf, created: Created) => Promise<CniResult>;

function load(flavor: Flavor, args: CmdArgs): WinConf {
  return flavor === 'win-bridge' ? loadWinBridgeConf(args.config, args.command) : loadWinOverlayConf(args.config, args.command);
}

/**
 * HNS v1 attaches an endpoint to a container ID, which gives a Linux pod no interface: a data plane without
 * v1 (the linux one) needs apiVersion 2 (CNI_NETNS = netns path, CNI_IFNAME created there).
 */
function requireV2(flavor: Flavor, conf: BaseNetConf & { apiVersion: number }, s: HostNetworkService): void {
  if (conf.apiVersion !== 2 && !s.capabilities.hnsV1) {
    throw new CniError(
      ErrCode.InvalidNetworkConfig,
      `${flavor}: apiVersion ${conf.apiVersion} (HNS v1) is not supported by the ${s.kind} data plane`,
      'set "apiVersion": 2 in the network config of network ' + conf.name,
    );
  }
}

async function cmdAdd(flavor: Flavor, add: AddFn, args: CmdArgs): Promise<string> {
  const conf = load(flavor, args);
  const call = conf.ipam.type !== '' ? ipamCall(args, conf) : undefined;
  return guardedAdd(args, call, async (s, created) => {
    requireV2(flavor, conf, s);
    return formatResult(await add(s, args, conf, created), conf.cniVersion);
  });
}

async function cmdDel(flavor: Flavor, args: CmdArgs): Promise<void> {
  const conf = load(flavor, args);
  const epName = endpointName(args.containerID, args.netns, conf.name);
  // Endpoint first, reservation second (common/attachment.ts).
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
  if (conf.ipam.type !== '') await releaseAfterDel(ipamCall(args, conf));
}

/** CHECK: the endpoint exists on the configured network, is attached, and carries prevResult's address. */
async function cmdCheck(flavor: Flavor, args: CmdArgs): Promise<void> {
  const conf = load(flavor, args);
  const epName = endpointName(args.containerID, args.netns, conf.name);
  const ip = await withService(args, async (s) => {
    requireV2(flavor, conf, s);
    if (conf.apiVersion === 2) {
      const net = await v2NetworkByName(s, conf.name).catch((e) => {
        throw annotate(e, `error while getting network ${conf.name}`);
      });
      const ep = await v2EndpointByName(s, epName);
      if (!ep) throw new Error(`CHECK: HostComputeEndpoint ${epName} not found`);
      if (!sameId(ep.HostComputeNetwork, net.ID))
        throw new Error(`CHECK: HostComputeEndpoint ${epName} is on network ${ep.HostComputeNetwork}, not on ${conf.name} (${net.ID})`);
      if (!sameId(ep.HostComputeNamespace, args.netns)) {
        throw new Error(
          `CHECK: HostComputeEndpoint ${epName} is not attached to namespace ${args.netns} (attached to ${ep.HostComputeNamespace || 'none'})`,
        );
      }
      return ep.IpConfigurations?.[0]?.IpAddress ?? '';
    }
    const net = await v1NetworkByName(s, conf.name).catch((e) => {
      throw annotate(e, `error while getting network ${conf.name}`);
    });
    const ep = await v1EndpointByName(s, epName);
    if (!ep) throw new Error(`CHECK: HNSEndpoint ${epName} not found`);
    if (!sameId(ep.VirtualNetwork, net.ID))
      throw new Error(`CHECK: HNSEndpoint ${epName} is on network ${ep.VirtualNetwork}, not on ${conf.name} (${net.ID})`);
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
  const call = conf.ipam.type !== '' ? ipamCall(args, conf) : undefined;
  let networkId: string | undefined;
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
      networkId = net.ID;
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
    networkId = net.ID;
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
  if (call) {
    try {
      await ipamGc(call, valid);
    } catch (e) {
      errors.push(`IPAM GC: ${(e as Error).message}`);
    }
  }
  if (networkId) {
    const id = networkId;
    await withService(args, (s) => gcRepair(s, scopeOf(call, conf.name, id), valid)).catch((e) =>
      errors.push(`invariant repair: ${(e as Error).message}`),
    );
  }
  if (errors.length) throw new Error(errors.join('; '));
}

/** STATUS: the HNS network must exist (code 50 otherwise), then IPAM's STATUS (exhausted range → 50). */
async function cmdStatus(flavor: Flavor, args: CmdArgs): Promise<void> {
  const conf = load(flavor, args);
  await withService(args, async (s) => {
    requireV2(flavor, conf, s);
    let id: string | undefined;
    try {
      id = (conf.apiVersion === 2 ? await v2NetworkByName(s, conf.name) : await v1NetworkByName(s, conf.name)).ID;
    } catch (e) {
      throw new CniError(ErrCode.PluginNotAvailable, `network ${conf.name} is not available`, (e as Error).message);
    }
    if (id) reportOrphans(await statusCheck(s, scopeOf(conf.ipam.type !== '' ? ipamCall(args, conf) : undefined, conf.name, id)));
  });
  if (conf.ipam.type !== '') await ipamStatus(ipamCall(args, conf));
}

export function windowsFamilyPlugin(flavor: Flavor, add: AddFn): PluginFuncs {
  return {
    add: (a) => cmdAdd(flavor, add, a),
    del: (a) => cmdDel(flavor, a),
    check: (a) => cmdCheck(flavor, a),
    gc: (a) => cmdGc(flavor, a),
    status: (a) => cmdStatus(flavor, a),
  };
}
