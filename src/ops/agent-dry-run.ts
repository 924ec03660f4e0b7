/**
 * `switchyard agent --dry-run`: what the agent's first pass would do on this node, changing nothing. The
 * data plane is read (the agent's own reconcile plan against what is there) and its writes are recorded, not
 * sent (src/ops/dry-run.ts); files, the lease, the local API and the metrics server are described, not made.
 *
 * The subnet: static sources know it from the configuration; etcd and kubernetes hand it out when the agent
 * starts (a lease is a write, so a dry run does not take one) — the subnet.env a previous run wrote is used
 * when there is one, else the network's documents cannot be computed and the dry run says so.
 */
import * as fs from 'node:fs';
import type { AgentConfig } from '../agent/config';
import { AgentConfigError } from '../agent/config';
import { openDataplane } from '../dataplane/factory';
import type { DataplaneKind } from '../dataplane/types';
import { interfaceAddress, platformTraits } from '../agent/platform';
import {
  desiredState,
  hostEndpointName,
  networkName,
  nthHost,
  placeholderNetwork,
  PLACEHOLDER_NETWORK,
  SOURCE_VIP_ENDPOINT,
} from '../agent/network/desired';
import { decidePeers } from '../agent/peers';
import type { NodeLease } from '../agent/subnet/types';
import { applyPlan, describeConflict, describeStep, plan, readLive } from '../reconcile';
import { describeCalls, recordingDataplane } from './dry-run';

type Json = (v: unknown) => string;

/** The subnet the agent would use, and where that knowledge comes from; undefined when only a lease can tell. */
function knownSubnet(c: AgentConfig): { subnet: string; from: string } | undefined {
  if (c.subnetSource === 'static' && c.podCidr) return { subnet: c.podCidr, from: 'the static pod CIDR' };
  if (!c.subnetEnv) return undefined;
  try {
    const m = /^FLANNEL_SUBNET=(\d+\.\d+\.\d+\.\d+)\/(\d+)$/m.exec(fs.readFileSync(c.subnetEnv, 'utf8'));
    if (!m) return undefined;
    const subnet = `${nthHost(`${m[1]}/${m[2]}`, 0)}/${m[2]}`;
    return { subnet, from: `${c.subnetEnv} (the lease of a previous run; ${c.subnetSource} confirms it at start)` };
  } catch {
    return undefined;
  }
}

export async function agentDryRun(c: AgentConfig, json: Json, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const publicIp = c.publicIp ?? interfaceAddress(c.iface);
  if (!publicIp)
    throw new AgentConfigError([
      c.iface
        ? `--iface: interface ${c.iface} has no IPv4 address`
        : '--public-ip: no IPv4 interface found on this node: give --public-ip or --iface',
    ]);
  const net = c.netConf;
  const name = networkName(net);
  const out: string[] = [
    `# dry run: agent ${c.node} would do the following; nothing was done`,
    `node ${c.node}, public IP ${publicIp}, backend ${net.backend.type}${net.backend.type === 'vxlan' ? ` (VNI ${net.backend.vni}, UDP ${net.backend.port})` : ''}, cluster ${net.network}`,
  ];
  const source =
    c.subnetSource === 'etcd'
      ? `etcd ${c.etcdEndpoints.join(',')} (prefix ${c.etcdPrefix})`
      : c.subnetSource === 'kubernetes'
        ? `the Kubernetes API (${c.kubeconfig ?? 'in-cluster'}): Node ${c.node}'s spec.podCIDR, flannel annotations patched`
        : 'the configuration (static)';
  out.push(`subnet: ${c.subnetSource === 'static' ? `${c.podCidr}` : 'leased'} from ${source}`);
  const svc = await openDataplane({ kind: c.dataplane as DataplaneKind | undefined, statePath: c.state, env });
  try {
    const traits = platformTraits(svc);
    const rec = recordingDataplane(svc);
    const known = knownSubnet(c);
    if (traits.placeholderNetwork && !(await svc.listNetworks()).some((n) => n.Name === PLACEHOLDER_NETWORK))
      await rec.svc.createNetwork(placeholderNetwork(net, c.iface));
    if (!known) {
      out.push(
        `network ${name}: its subnet comes from the lease the agent takes at start, so its documents are not known before (a dry run takes no lease)`,
      );
    } else {
      out.push(`network ${name} for ${known.subnet} (${known.from})`);
      const lease: NodeLease = {
        node: c.node,
        subnet: known.subnet,
        publicIp,
        backendType: net.backend.type,
        ...(net.backend.type === 'vxlan' ? { vni: net.backend.vni } : {}),
      };
      const decisions = c.subnetSource === 'static' ? decidePeers(net, lease, c.peers) : [];
      for (const d of decisions) out.push(`peer ${d.lease.node} ${d.lease.subnet}: ${d.state}${d.reason ? ` (${d.reason})` : ''}`);
      if (c.subnetSource !== 'static') out.push(`peers: learned from ${c.subnetSource} after start, one RemoteSubnetRoute each`);
      const hostIp = nthHost(known.subnet, 2);
      const desired = desiredState({
        net,
        lease,
        iface: c.iface,
        providerAddress: traits.sendsProviderAddress ? publicIp : undefined,
        hostEndpointIp: traits.hostEndpoint ? hostIp : undefined,
        peerPolicies: decisions.filter((d) => d.state === 'programmed').map((d) => d.policy!),
      });
      const p = plan(desired, await readLive(svc, { loadBalancers: false }));
      for (const s of p.steps) out.push(`step: ${describeStep(s)}`);
      for (const cf of p.conflicts) out.push(`conflict: ${describeConflict(cf)} (the agent reports it and leaves the object)`);
      out.push(`reserve ${hostIp} (host endpoint ${hostEndpointName(net)}) in the IPAM store ${c.cni.ipamDataDir}`);
      if (net.backend.type === 'vxlan')
        out.push(`reserve the next free address of ${known.subnet} for endpoint ${SOURCE_VIP_ENDPOINT} (the source VIP) and create it`);
      if (!p.conflicts.some((cf) => cf.key === `Network/${name}`)) await applyPlan(rec.svc, p, { label: 'dry run' });
    }
    if (c.cni.confDir) out.push(`write the CNI conflist ${c.cni.confDir}/${c.cni.confName}`);
    if (c.cni.binDir) out.push(`install the CNI entrypoints in ${c.cni.binDir}`);
    if (c.subnetEnv) out.push(`write ${c.subnetEnv}`);
    if (c.socket) out.push(`serve the local API on ${c.socket}`);
    if (c.metricsAddress) out.push(`serve /healthz, /readyz, /metrics on ${c.metricsAddress}`);
    if (c.proxy.enabled) out.push('run the service proxy (Services and EndpointSlices → load balancers)');
    out.push(`reconcile every ${c.resyncSeconds} s and on every change of ${c.subnetSource}`);
    return out.join('\n') + '\n' + describeCalls(rec.calls, json);
  } finally {
    await svc.close();
  }
}
