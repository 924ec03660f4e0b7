/**
 * `switchyard agent cleanup`: removes what this agent created on the node, as its record says
 * (network/created.ts), and nothing else — the network only if this agent created it (an adopted one keeps
 * its objects; only the peer policies and host routes the agent added come off it), the host and
 * source-VIP endpoints it created, the files it wrote or copied, and its own IPAM reservations. It refuses,
 * naming them, while pods' endpoints are on the network, unless `force` (then a network it created is
 * deleted with them: they cannot outlive it). The agent must not be running (the service is stopped first).
 */
import * as fs from 'node:fs';
import type { HostNetworkService } from '../dataplane/types';
import { isNotFound } from '../hns/errors';
import type { HostComputeEndpoint } from '../hns/endpoint';
import { sameId } from '../hns/json';
import { networkPolicyRequest } from '../hns/modify';
import type { AgentConfig } from './config';
import { createdRecordPath, readCreated, removeRecord, type CreatedRecord } from './network/created';
import { hostEndpointName, networkName, SOURCE_VIP_ENDPOINT } from './network/desired';
import { HOST_ENDPOINT_ID, openStore, SOURCE_VIP_ID } from './network/reservations';

export class CleanupRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CleanupRefusedError';
  }
}

export interface CleanupResult {
  /** What was removed, one line each. */
  removed: string[];
  /** True when there was no record: this agent never created anything here. */
  nothingRecorded: boolean;
}

async function ignoreMissing(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

async function removeEndpoint(svc: HostNetworkService, ep: HostComputeEndpoint): Promise<boolean> {
  // HNS refuses to delete an endpoint still attached to a namespace: detach it first.
  if (ep.HostComputeNamespace) await ignoreMissing(svc.detachEndpoint(ep.HostComputeNamespace, ep.ID!));
  return ignoreMissing(svc.deleteEndpoint(ep.ID!));
}

export async function cleanupAgent(config: AgentConfig, svc: HostNetworkService, opts: { force?: boolean } = {}): Promise<CleanupResult> {
  const name = networkName(config.netConf);
  const recordFile = createdRecordPath(config.cni.ipamDataDir, name);
  const rec: CreatedRecord | undefined = readCreated(recordFile);
  if (!rec) return { removed: [], nothingRecorded: true };
  const removed: string[] = [];
  const networks = await svc.listNetworks();
  const net = networks.find((n) => (rec.network ? sameId(n.ID, rec.network.id) : n.Name === name));
  const created = !!(net && rec.network && sameId(net.ID, rec.network.id));
  const own = new Set(rec.endpoints.map((e) => e.id.toLowerCase()));
  const onNet = net ? (await svc.listEndpoints()).filter((e) => sameId(e.HostComputeNetwork, net.ID)) : [];
  // The host and source-VIP endpoints are the agent's kind even when adopted (then they stay): never pods.
  const agentNames = new Set([hostEndpointName(config.netConf), SOURCE_VIP_ENDPOINT]);
  const pods = onNet.filter((e) => !own.has(e.ID!.toLowerCase()) && !agentNames.has(e.Name ?? ''));

  if (pods.length > 0 && !opts.force)
    throw new CleanupRefusedError(
      `network ${name} (${net!.ID}) still has ${pods.length} pod endpoint(s): ${pods.map((e) => `${e.Name ?? '?'} (${e.ID})`).join(', ')}; delete those pods first, or run with --force${created ? ' (they are deleted with the network this agent created)' : ' (they are left in place: the network was not created by this agent)'}`,
    );

  // The host routes first: they point at the network's host interface.
  if (rec.hostRoutes.length && svc.hostRoutes) {
    for (const r of rec.hostRoutes) {
      if (await ignoreMissing(svc.hostRoutes.delete(r))) removed.push(`host route ${r.destinationPrefix} via ${r.nextHop}`);
    }
  }
  for (const ep of onNet.filter((e) => own.has(e.ID!.toLowerCase()))) {
    if (await removeEndpoint(svc, ep)) removed.push(`endpoint ${ep.Name} (${ep.ID})`);
  }
  if (net && created) {
    for (const ep of pods) if (await removeEndpoint(svc, ep)) removed.push(`pod endpoint ${ep.Name} (${ep.ID}) (--force)`);
    if (await ignoreMissing(svc.deleteNetwork(net.ID!))) removed.push(`network ${name} (${net.ID})`);
  } else if (net && rec.peerPolicies.length) {
    // Adopted: the network stays; only the peer policies this agent added come off.
    const mine = (net.Policies ?? []).filter(
      (p) =>
        p.Type === 'RemoteSubnetRoute' &&
        rec.peerPolicies.includes(String((p.Settings as { DestinationPrefix?: string }).DestinationPrefix)),
    );
    if (mine.length) {
      await svc.modifyNetwork(net.ID!, networkPolicyRequest('Remove', mine));
      removed.push(
        `peer policies on network ${name}: ${mine.map((p) => (p.Settings as { DestinationPrefix: string }).DestinationPrefix).join(', ')}`,
      );
    }
  }
  if (rec.placeholder) {
    const ph = networks.find((n) => sameId(n.ID, rec.placeholder!.id));
    const others = ph ? (await svc.listEndpoints()).filter((e) => sameId(e.HostComputeNetwork, ph.ID)) : [];
    if (ph && others.length === 0 && (await ignoreMissing(svc.deleteNetwork(ph.ID!)))) removed.push(`network ${ph.Name} (${ph.ID})`);
  }

  for (const f of rec.files) {
    if (fs.existsSync(f)) {
      fs.rmSync(f, { force: true });
      removed.push(`file ${f}`);
    }
  }
  const store = openStore(config.cni.ipamDataDir, name);
  if (store.exists()) {
    const freed = await store.locked(() => {
      const out: string[] = [];
      for (const r of store.list()) {
        if (r.containerID !== HOST_ENDPOINT_ID && r.containerID !== SOURCE_VIP_ID) continue;
        store.release(r.ip);
        out.push(r.file);
      }
      return out;
    });
    for (const f of freed) removed.push(`IPAM reservation ${f}`);
  }
  removeRecord(recordFile);
  return { removed, nothingRecorded: false };
}
