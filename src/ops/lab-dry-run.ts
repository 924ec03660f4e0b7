/**
 * `lab up --dry-run` and `lab down --dry-run`: what the lab would create or remove, computed from the plan
 * (src/lab/spec.ts) and the running labs' records without touching anything — no namespace, link, process,
 * file or temporary directory is made. Without agents the lab programs each node itself, so the HCN calls and
 * documents are printed as they would be sent; with agents each node's agent makes its own calls, so the agent
 * configuration the lab would write is printed, and what that agent creates from it.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { LabPlan } from '../lab/spec';
import { nodeNetwork, peerRoute } from '../lab/spec';
import type { LabRecord } from '../lab/netns-driver';
import type { AgentLabOptions } from '../lab/agent-lab';
import { agentConfigText } from '../lab/agent-lab';
import { isRunning } from '../lab/processes';

type Json = (v: unknown) => string;

export function describeLabUp(plan: LabPlan, agents: AgentLabOptions | undefined, recordFile: string, json: Json): string {
  const s = plan.spec;
  const backend = s.type === 'Overlay' ? `vxlan (VNI ${s.vni}, UDP 4789)` : 'host-gw';
  const stateDir = path.join(os.tmpdir(), `sy-lab-${s.prefix}-XXXXXX`);
  const out: string[] = [
    `# dry run: lab up --prefix ${s.prefix} would do the following; nothing was done`,
    `${s.nodes} nodes × ${s.podsPerNode} pods, ${s.type}, ${backend}, cluster ${s.clusterCidr}, underlay ${s.underlay}`,
    `state directory: a new ${stateDir}`,
    `namespace ${plan.switchNs}: bridge "underlay" (MTU ${s.mtu})`,
  ];
  for (const n of plan.nodes)
    out.push(`namespace ${n.name}: veth u${n.index} on the bridge ↔ eth0 ${n.underlayIp}/24 (MTU ${s.mtu}), lo up`);
  if (agents) {
    const source = agents.subnetSource ?? 'etcd';
    out.push(
      source === 'etcd'
        ? `start etcd on 127.0.0.1 (a free port), data in ${stateDir}/etcd`
        : `start the fake API server on 127.0.0.1 (a free port) with one Node per lab node (spec.podCIDR), kubeconfig ${stateDir}/kubeconfig`,
    );
    const store = source === 'etcd' ? 'http://127.0.0.1:<etcd port>' : `${stateDir}/kubeconfig`;
    for (const n of plan.nodes) {
      const dir = path.join(stateDir, n.name);
      const text = agentConfigText(
        plan,
        { node: n, dir, socket: path.join(dir, 'agent.sock') },
        { ...agents, subnetSource: source, store },
      );
      const subnet = source === 'etcd' ? `a /24 of ${s.clusterCidr} leased from etcd` : n.podSubnet;
      out.push(
        `write ${dir}/agent.yaml:`,
        ...text
          .trimEnd()
          .split('\n')
          .map((l) => `    ${l}`),
        `start agent ${n.name}: switchyard --dataplane linux agent --config ${dir}/agent.yaml (SWITCHYARD_LINUX_NETNS=/var/run/netns/${n.name}); it creates network ${s.type === 'Overlay' ? `flannel.${s.vni}` : 'cbr0'} (${s.type}) for ${subnet}, the host endpoint at .2${s.type === 'Overlay' ? ', the source-VIP endpoint' : ''}, one RemoteSubnetRoute per peer, writes ${dir}/net.d/*.conflist and ${dir}/subnet.env`,
      );
    }
    for (const n of plan.nodes)
      for (const p of n.pods)
        out.push(`pod ${p.name}: namespace ${p.name}, CNI ADD (eth0) through the conflist's plugin against ${n.name}'s agent socket`);
  } else {
    let k = 0;
    const call = (name: string, target: string, doc: unknown) =>
      out.push(`# ${++k}. ${name}${target ? ` ${target}` : ''}`, json(doc).trimEnd());
    for (const n of plan.nodes) call('HcnCreateNetwork', `(linux data plane in ${n.name})`, nodeNetwork(plan, n));
    for (const n of plan.nodes) {
      const peers = plan.nodes
        .filter((p) => p !== n)
        .map((p) => peerRoute(plan, p, s.type === 'Overlay' ? `<DrMacAddress of ${p.name}>` : undefined));
      if (peers.length)
        call('HcnModifyNetwork', `(${n.name})`, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: peers } });
    }
    for (const n of plan.nodes)
      for (const p of n.pods) {
        out.push(`namespace ${p.name}`);
        call('HcnCreateEndpoint', `(${n.name})`, { Name: p.name, IpConfigurations: [{ IpAddress: p.ip, PrefixLength: 24 }], Policies: [] });
        call('HcnModifyNamespace (attach endpoint)', `(${n.name})`, {
          namespace: `/var/run/netns/${p.name}`,
          endpoint: p.name,
          interfaceName: 'eth0',
        });
      }
  }
  out.push(`record the lab in ${recordFile}`);
  return out.join('\n') + '\n';
}

export function describeLabDown(rec: LabRecord, recordFile: string): string {
  const out = [`# dry run: lab down --prefix ${rec.spec.prefix} would do the following; nothing was done`];
  for (const p of rec.processes ?? [])
    out.push(
      isRunning(p) ? `stop ${p.name} (pid ${p.pid}): SIGTERM, SIGKILL after 5 s` : `${p.name} (pid ${p.pid}) is not running any more`,
    );
  for (const n of [...rec.namespaces].reverse()) out.push(`delete namespace ${n} (and every link, route and nft table in it)`);
  // teardown removes only a state directory the lab made itself.
  if (rec.stateDir.startsWith(path.join(os.tmpdir(), 'sy-lab-'))) out.push(`remove ${rec.stateDir}`);
  out.push(`remove ${recordFile}`);
  return out.join('\n') + '\n';
}
