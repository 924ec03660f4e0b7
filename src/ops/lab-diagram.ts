/**
 * The picture of a running netns lab (`switchyard lab diagram`): each node's linux data plane read inside its
 * namespace (the same SWITCHYARD_LINUX_NETNS/STATE its agent uses), each node's agent asked over its socket,
 * and all of it drawn as one cluster (src/ops/topology.ts).
 */
import * as path from 'node:path';
import type { AgentStatus } from '../agent/agent';
import { openDataplane } from '../dataplane/factory';
import type { LabRecord } from '../lab/netns-driver';
import { fetchAgentStatus } from './agent-client';
import { readSnapshot } from './snapshot';
import { buildClusterTopology, toDot, type ClusterMember } from './topology';

/** The lab's node names: those with an agent, else every node the plan has (`<prefix>-n<i>`). */
function nodeNames(rec: LabRecord): string[] {
  if (rec.agents?.length) return rec.agents.map((a) => a.node);
  return Array.from({ length: rec.spec.nodes }, (_, i) => `${rec.spec.prefix}-n${i}`);
}

export async function labClusterDot(rec: LabRecord): Promise<string> {
  const members: ClusterMember[] = [];
  for (const name of nodeNames(rec)) {
    const env = {
      ...process.env,
      SWITCHYARD_LINUX_NETNS: `/var/run/netns/${name}`,
      SWITCHYARD_LINUX_STATE: path.join(rec.stateDir, `${name}.json`),
    };
    const svc = await openDataplane({ kind: 'linux', env });
    let snap;
    try {
      snap = await readSnapshot(svc);
    } finally {
      await svc.close();
    }
    const socket = rec.agents?.find((a) => a.node === name)?.socket;
    const agent = socket ? ((await fetchAgentStatus(socket)) as AgentStatus | undefined) : undefined;
    members.push({ snap, name, ...(agent ? { agent } : {}) });
  }
  return toDot(buildClusterTopology(members));
}
