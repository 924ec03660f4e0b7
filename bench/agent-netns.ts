/**
 * Agent figures on real network namespaces, etcd mode (the lab of src/lab/agent-lab.ts: a real etcd, one
 * `switchyard agent` process per node namespace): for each of N nodes joining one after another,
 * - start → ready: the agent process spawned until it logs "agent ready" (lease from etcd, bridge/VXLAN
 *   device, host endpoint, peers, CNI config);
 * - join → converged: the same start until every node already running has the route to the new node's
 *   subnet (vxlan: the route through the VXLAN device, whose FDB/neighbour entries are programmed with it).
 * Routes are polled with `ip -n` (a sweep over the running nodes takes a few ms each): figures are upper bounds.
 * Root only. Run: node scripts/build.js && node dist/bench/agent-netns.js [nodes=10] [vxlan|host-gw]
 */
import { execFileSync } from 'node:child_process';
import { AgentLab } from '../src/lab/agent-lab';
import { intArg, pct } from './lib/stats';

const nodes = intArg(0, 'nodes', 10);
const backend = process.argv[3] ?? 'vxlan';
const fmt = (xs: number[]) =>
  `median ${pct(xs, 50).toFixed(0)} ms, p90 ${pct(xs, 90).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms (n=${xs.length})`;

function hasRoute(node: string, subnet: string): boolean {
  return execFileSync('ip', ['-n', node, '-4', 'route', 'show', subnet], { encoding: 'utf8' }).trim() !== '';
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('agent-netns bench: needs root (network namespaces); nothing measured');
    return;
  }
  if (backend !== 'vxlan' && backend !== 'host-gw') throw new Error(`backend: "${backend}" must be vxlan or host-gw`);
  const lab = new AgentLab(
    { prefix: `sybn${process.pid % 1000}`, nodes, podsPerNode: 0, type: backend === 'vxlan' ? 'Overlay' : 'L2Bridge' },
    { subnetSource: 'etcd', agents: 0 },
  );
  const ready: number[] = [];
  const converged: number[] = [];
  const afterReady: number[] = [];
  try {
    await lab.up();
    for (const [k, n] of lab.plan.nodes.entries()) {
      const t0 = performance.now();
      await lab.startAgent(n);
      ready.push(performance.now() - t0);
      const subnet = lab.subnet(n)!;
      const others = lab.plan.nodes.slice(0, k).map((o) => o.name);
      const pending = new Set(others);
      const deadline = t0 + 60_000;
      while (pending.size && performance.now() < deadline) {
        for (const o of [...pending]) if (hasRoute(o, subnet)) pending.delete(o);
        if (pending.size) await new Promise((r) => setTimeout(r, 10));
      }
      if (pending.size) throw new Error(`node ${n.name} (${subnet}) not programmed on ${[...pending].join(', ')} after 60 s`);
      if (k > 0) {
        converged.push(performance.now() - t0);
        afterReady.push(converged[k - 1] - ready[k]);
      }
      console.log(
        `node ${k + 1}/${nodes} ${n.name} ${subnet}: ready ${ready[k].toFixed(0)} ms${k > 0 ? `, on all ${k} others ${converged[k - 1].toFixed(0)} ms` : ''}`,
      );
    }
    const mesh = lab.plan.nodes.every((n) => lab.plan.nodes.every((o) => o === n || hasRoute(n.name, lab.subnet(o)!)));
    console.log(`\n${nodes} namespace nodes, ${backend}, etcd mode (${lab.etcd!.endpoint})`);
    console.log(`agent start → ready:          ${fmt(ready)}`);
    console.log(`join → route on every other:  ${fmt(converged)}`);
    console.log(`ready → route on every other: ${fmt(afterReady)}`);
    console.log(`full mesh of ${nodes * (nodes - 1)} peer routes present: ${mesh ? 'yes' : 'NO'}`);
  } finally {
    await lab.down();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
