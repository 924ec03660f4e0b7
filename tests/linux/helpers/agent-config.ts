/**
 * The agent configuration the two-node linux agent tests write: one `agent.yaml` per node in
 * `<lab state dir>/<node>/`, with the other nodes as static peers (their VTEP MAC for vxlan), the CNI config
 * and IPAM store beside it. Lines a test needs beyond these (kubeconfig, proxy) come in `extra`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NetnsLab } from '../../../src/lab/netns-driver';
import type { LabNode } from '../../../src/lab/spec';
import { defaultDrMac } from '../../../src/dataplane/linux/realize-network';

export interface AgentConfigOptions {
  /** The flannel backend: `{Type: <backend>}`, with `VNI` when given. */
  backend: 'host-gw' | 'vxlan';
  vni?: number;
  /** `metricsAddress` ('' turns the metrics server off). */
  metricsAddress?: string;
  /** More YAML lines, placed after `subnetEnv`. */
  extra?: (dir: string) => string[];
}

/** The VTEP MAC a node's linux data plane gives its vxlan device (its default DrMacAddress). */
export const vtepMacOf = (underlayIp: string): string => defaultDrMac(underlayIp);

/** Writes the node's agent.yaml; returns its directory and path. */
export function writeAgentConfig(lab: NetnsLab, node: LabNode, opts: AgentConfigOptions): { dir: string; config: string } {
  const dir = path.join(lab.stateDir, node.name);
  fs.mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'agent.yaml');
  const backend = opts.vni === undefined ? `{Type: ${opts.backend}}` : `{Type: ${opts.backend}, VNI: ${opts.vni}}`;
  const peers = lab.plan.nodes
    .filter((n) => n !== node)
    .map(
      (o) =>
        `  - {node: ${o.name}, subnet: ${o.podSubnet}, publicIP: ${o.underlayIp}${opts.backend === 'vxlan' ? `, vtepMAC: '${vtepMacOf(o.underlayIp)}'` : ''}}`,
    );
  fs.writeFileSync(
    config,
    [
      `node: ${node.name}`,
      `podCIDR: ${node.podSubnet}`,
      `publicIP: ${node.underlayIp}`,
      'iface: eth0',
      `metricsAddress: '${opts.metricsAddress ?? ''}'`,
      `socket: ${dir}/agent.sock`,
      `subnetEnv: ${dir}/subnet.env`,
      ...(opts.extra?.(dir) ?? []),
      `netConf: {Network: 10.244.0.0/16, Backend: ${backend}}`,
      `cni: {type: switchyard, confDir: ${dir}/net.d, binDir: '', ipamDataDir: ${dir}/ipam}`,
      'peers:',
      ...peers,
    ].join('\n'),
  );
  return { dir, config };
}
