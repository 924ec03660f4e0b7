/**
 * Pieces shared by win-bridge, win-overlay and switchyard: endpoint naming, the IPAM call built from the
 * invocation, the DSR gate, data-plane access, and HNS lookups by name on both API surfaces.
 */
import type { HnsV1Api, HostNetworkService } from '../../../dataplane/types';
import type { HostComputeEndpoint, HostComputeNetwork, HnsV1Endpoint, HnsV1Network } from '../../../hns';
import { buildQuery } from '../../../hns/query';
import { HRESULT, isHnsError, isNotFound } from '../../../hns/errors';
import type { CmdArgs } from '../../protocol/skel';
import { toPlain } from '../../protocol/gojson';
import type { BaseNetConf } from '../../config/netconf';
import type { IpamCall } from '../../ipam';
import { callServices, noteNetworkFailure, suspectCachedNetwork } from '../../call-context';
import { inBatch } from '../../warm-services';

export const PAUSE_NETNS = 'none';

/** ConstructEndpointName: `<sandbox>_<network>`, sandbox from `xxx:<id>` in CNI_NETNS when present. */
export function sandboxID(containerID: string, netns: string): string {
  if (netns !== '' && netns !== PAUSE_NETNS) {
    const i = netns.indexOf(':');
    if (i >= 0) return netns.slice(i + 1);
  }
  return containerID;
}

export function endpointName(containerID: string, netns: string, network: string): string {
  return `${sandboxID(containerID, netns)}_${network}`;
}

export function ipamCall(args: CmdArgs, conf: BaseNetConf): IpamCall {
  return {
    type: conf.ipam.type,
    stdin: args.stdinData,
    config: toPlain(args.config) as Record<string, unknown>,
    env: args.env,
    containerID: args.containerID,
    ifName: args.ifName,
    cniArgs: args.args,
    cniPath: args.path,
    cniVersion: conf.cniVersion,
  };
}

/** hcn.DSRSupported: HNS 9.3 ≤ v < 10.0 or v ≥ 10.2; any failure to tell means "no". */
export async function dsrSupported(service: HostNetworkService): Promise<boolean> {
  try {
    return (await service.features()).DSR === true;
  } catch {
    return false;
  }
}

export { sameId } from '../../../net/id';

// ---- HNS v1 (HNSCall) --------------------------------------------------------------------------

/** The data plane's v1 surface; callers check capabilities.hnsV1 first (requireV2 in the win-* plugins). */
export function v1Of(service: HostNetworkService): HnsV1Api {
  if (!service.v1) throw new Error(`HNS v1 (apiVersion 1) is not available on the ${service.kind} data plane`);
  return service.v1;
}

export async function v1Networks(service: HostNetworkService): Promise<HnsV1Network[]> {
  return (await v1Of(service).call<HnsV1Network[] | null>('GET', '/networks/')) ?? [];
}

/** GetHNSNetworkByName: list and exact (case-sensitive) name match. */
export async function v1NetworkByName(service: HostNetworkService, name: string): Promise<HnsV1Network> {
  const found = (await v1Networks(service)).find((n) => n.Name === name);
  if (!found) throw new Error(`Network ${name} not found`);
  return found;
}

export async function v1EndpointByName(service: HostNetworkService, name: string): Promise<HnsV1Endpoint | undefined> {
  const list = (await v1Of(service).call<HnsV1Endpoint[] | null>('GET', '/endpoints/')) ?? [];
  return list.find((e) => e.Name === name);
}

export async function v1CreateEndpoint(service: HostNetworkService, body: HnsV1Endpoint): Promise<HnsV1Endpoint> {
  return v1Of(service).call<HnsV1Endpoint>('POST', '/endpoints/', body);
}

export async function v1DeleteEndpoint(service: HostNetworkService, id: string): Promise<void> {
  await v1Of(service).call('DELETE', `/endpoints/${id}`);
}

/** Container attach of a v1 endpoint (the HNS form of hcsshim's HotAttachEndpoint). */
const computeSystemMissing = (e: unknown): boolean => isHnsError(e) && e.hresult === HRESULT.HCS_E_SYSTEM_NOT_FOUND;

/**
 * hcsshim HotAttachEndpoint: an HCS network hot-add on the container's compute system where the data plane has
 * HCS; a container with no compute system is not an error (the reference returns the endpoint).
 */
export async function v1Attach(service: HostNetworkService, id: string, containerID: string): Promise<void> {
  const v1 = v1Of(service);
  if (v1.modifyContainerNetwork) {
    await v1.modifyContainerNetwork(containerID, id, 'Add').catch((e) => {
      if (!computeSystemMissing(e)) throw e;
    });
    return;
  }
  await v1.call('POST', `/endpoints/${id}/attach`, { ContainerId: containerID, SystemType: 'Container' });
}

/** hcsshim HotDetachEndpoint; when the container is gone, HNS's own record of it is dropped instead. */
export async function v1Detach(service: HostNetworkService, id: string, containerID: string): Promise<void> {
  const v1 = v1Of(service);
  if (v1.modifyContainerNetwork) {
    try {
      await v1.modifyContainerNetwork(containerID, id, 'Remove');
      return;
    } catch (e) {
      if (!computeSystemMissing(e)) throw e;
    }
  }
  await v1.call('POST', `/endpoints/${id}/detach`, { ContainerId: containerID, SystemType: 'Container' });
}

export const v1Attached = (ep: HnsV1Endpoint, containerID: string): boolean =>
  (ep.SharedContainers ?? []).some((c) => c.toLowerCase() === containerID.toLowerCase());

// ---- HCN v2 --------------------------------------------------------------------------------------

export async function v2NetworkByName(service: HostNetworkService, name: string): Promise<HostComputeNetwork> {
  const list = await service.listNetworks(buildQuery({ Name: name }));
  const found = list.find((n) => n.Name === name) ?? list[0];
  if (!found) throw new Error(`Network name ${JSON.stringify(name)} not found`);
  return found;
}

/**
 * v2NetworkByName for an ADD: inside the agent, from the warm lookup cache (warm-services.ts), which saves
 * one data-plane call per pod; a create on a vanished network drops the entry and retries the ADD
 * (networkGone, guardedAdd). Other commands (CHECK, STATUS, GC, DEL) always look the network up.
 */
export function v2NetworkForAdd(service: HostNetworkService, name: string): Promise<HostComputeNetwork> {
  const warm = callServices();
  return warm ? warm.networkByName(service, `v2:${name}`, () => v2NetworkByName(service, name)) : v2NetworkByName(service, name);
}

/** v1NetworkByName for an ADD, as v2NetworkForAdd. */
export function v1NetworkForAdd(service: HostNetworkService, name: string): Promise<HnsV1Network> {
  const warm = callServices();
  return warm ? warm.networkByName(service, `v1:${name}`, () => v1NetworkByName(service, name)) : v1NetworkByName(service, name);
}

/** An endpoint create on `networkId` failed with `e`: see noteNetworkFailure (a cached network that is gone). */
export function networkGone(service: HostNetworkService, networkId: string | undefined, e: unknown): void {
  noteNetworkFailure(service, networkId, e, isNotFound);
}

/**
 * An existing endpoint `name` is on another network than `networkId`. When that ID is a cached one, the
 * cache is suspect rather than the endpoint: throws so that the ADD is retried with a fresh lookup
 * (guardedAdd) before anything is removed; otherwise returns and the caller replaces the endpoint.
 */
export function checkCachedNetwork(service: HostNetworkService, networkId: string, name: string): void {
  if (suspectCachedNetwork(service, networkId))
    throw new Error(`endpoint ${name} is on another network than the cached ${networkId}: looking the network up again`);
}

export async function v2EndpointByName(service: HostNetworkService, name: string): Promise<HostComputeEndpoint | undefined> {
  const list = await service.listEndpoints(buildQuery({ Name: name }));
  return list.find((e) => e.Name === name) ?? list[0];
}

/** RemoveHcnEndpoint: leave the namespace (absent is fine), then delete; a missing endpoint is success. */
export async function v2RemoveEndpoint(service: HostNetworkService, ep: HostComputeEndpoint): Promise<void> {
  const name = ep.Name ?? ep.ID ?? '';
  if (ep.HostComputeNamespace) {
    try {
      await service.detachEndpoint(ep.HostComputeNamespace, ep.ID!);
    } catch (e) {
      const notAttached = isHnsError(e) && e.hresult === HRESULT.HCN_E_ENDPOINT_NOT_ATTACHED;
      if (!isNotFound(e) && !notAttached) throw new Error(`error removing endpoint: ${name} from namespace: ${(e as Error).message}`);
    }
  }
  try {
    await service.deleteEndpoint(ep.ID!);
  } catch (e) {
    if (!isNotFound(e)) throw new Error(`failed to remove HostComputeEndpoint ${name}: ${(e as Error).message}`);
  }
}

/**
 * Removes an endpoint as it is now (re-read, so a rollback never detaches from a namespace the endpoint
 * never joined, which fails on a non-GUID CNI_NETNS and used to skip the delete); absent is success.
 */
export async function v2RemoveEndpointById(service: HostNetworkService, id: string): Promise<void> {
  let ep: HostComputeEndpoint;
  try {
    ep = await service.getEndpoint(id);
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
  await v2RemoveEndpoint(service, ep);
}

export function v2SubnetPrefix(net: HostComputeNetwork): string | undefined {
  return net.Ipams?.[0]?.Subnets?.[0]?.IpAddressPrefix;
}

/** Opens the data plane chosen by SWITCHYARD_DATAPLANE / SWITCHYARD_STATE; required lazily to keep start-up small. */
export async function openService(env: Record<string, string | undefined>): Promise<HostNetworkService> {
  const { openDataplane } = require('../../../dataplane/factory') as typeof import('../../../dataplane/factory');
  return openDataplane({ env: env as NodeJS.ProcessEnv });
}

export async function withService<T>(args: CmdArgs, fn: (s: HostNetworkService) => Promise<T>): Promise<T> {
  const warm = callServices();
  if (warm) return warm.with(args.env, fn);
  const service = await openService(args.env);
  try {
    return await inBatch(service, fn);
  } finally {
    await service.close();
  }
}
