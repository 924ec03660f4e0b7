/**
 * Node agent figures on the memory data plane: start to ready (boot: network, host and source-VIP endpoints,
 * IPAM reservations, CNI config), a restart that adopts everything, and peer convergence for N simulated static
 * peers — one peer appearing at a time (change → RemoteSubnetRoute programmed), all N at once, and the periodic
 * pass with nothing to do.
 * Run: node scripts/build.js && node dist/bench/agent.js [peers=100] [runs=5]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildAgentConfig } from '../src/agent/config';
import { createAgentLogger } from '../src/agent/log';
import { startAgent } from '../src/agent/main';
import { StaticSubnetSource } from '../src/agent/subnet/static';
import type { NodeLease } from '../src/agent/subnet/types';
import { openDataplane } from '../src/dataplane/factory';
import { intArg, pct } from './lib/stats';

const peers = intArg(0, 'peers', 100);
const runs = intArg(1, 'runs', 5);
const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;
const fmt = (xs: number[]) => `median ${pct(xs, 50).toFixed(1)} ms, p90 ${pct(xs, 90).toFixed(1)} ms (n=${xs.length})`;

function lease(i: number): NodeLease {
  const a = Math.floor(i / 250);
  const b = i % 250;
  return {
    node: `peer${i}`,
    subnet: `10.${100 + a}.${b}.0/24`,
    publicIp: `192.168.${a}.${b + 2}`,
    backendType: 'vxlan',
    vni: 4096,
    vtepMac: `0e:5a:c0:a8:${a.toString(16).padStart(2, '0')}:${(b + 2).toString(16).padStart(2, '0')}`,
  };
}

async function main(): Promise<void> {
  // The agents run without their periodic timer; this keeps the process alive while passes wait on file locks.
  const keepAlive = setInterval(() => undefined, 1000);
  const boot: number[] = [];
  const adopt: number[] = [];
  const one: number[] = [];
  const all: number[] = [];
  const idle: number[] = [];
  for (let run = 0; run < runs; run++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-agent-'));
    try {
      const config = buildAgentConfig({
        file: {
          node: 'bench',
          podCIDR: '10.1.1.0/24',
          publicIP: '192.168.250.1',
          metricsAddress: '',
          netConf: { Network: '10.0.0.0/8', Backend: { Type: 'vxlan' } },
          cni: { confDir: path.join(dir, 'net.d'), binDir: '', ipamDataDir: path.join(dir, 'ipam') },
        },
        flags: {},
        hostname: 'bench',
        platform: 'linux',
        env: {},
      });
      const log = createAgentLogger({ silent: true });
      const svc = await openDataplane({ kind: 'memory', statePath: path.join(dir, 'hns.json'), env: {} });
      let source = new StaticSubnetSource(config.podCidr!, []);
      let t = process.hrtime.bigint();
      let running = await startAgent(config, { svc, source, log, periodic: false });
      if (!running.agent.readiness().ready) throw new Error(`not ready: ${running.agent.readiness().missing.join(', ')}`);
      boot.push(ms(t));

      // One peer at a time: the change listener's coalesced pass programs it.
      const current: NodeLease[] = [];
      for (let i = 0; i < peers; i++) {
        current.push(lease(i));
        const programmed = new Promise<void>((resolve) =>
          running.agent.onReconcile((r) => {
            if (r.steps.some((s) => s.includes(`RemoteSubnetRoute ${lease(i).subnet} missing`))) resolve();
          }),
        );
        t = process.hrtime.bigint();
        source.setPeers([...current]);
        await programmed;
        one.push(ms(t));
      }
      t = process.hrtime.bigint();
      await running.agent.reconcileNow('periodic');
      idle.push(ms(t));

      // All at once on a fresh node state: N peers leave, then N appear together.
      source.setPeers([]);
      await running.agent.reconcileNow('bench');
      t = process.hrtime.bigint();
      source.setPeers([...current]);
      const r = await running.agent.reconcileNow('bench');
      all.push(ms(t));
      if (running.agent.status().peers.filter((p) => p.state === 'programmed').length !== peers)
        throw new Error(`not all peers programmed: ${r.steps.length} steps`);

      await running.stop();
      source = new StaticSubnetSource(config.podCidr!, current);
      t = process.hrtime.bigint();
      running = await startAgent(config, { svc, source, log, periodic: false });
      adopt.push(ms(t));
      if (running.boot.steps.length !== 0) throw new Error(`restart changed something: ${running.boot.steps.join('; ')}`);
      await running.stop();
      await svc.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`agent on the memory data plane, ${peers} static vxlan peers, ${runs} runs`);
  console.log(`  start → ready (empty host):                 ${fmt(boot)}`);
  console.log(`  restart → ready (adopts, ${peers} peers, 0 writes): ${fmt(adopt)}`);
  console.log(`  one peer appears → its RemoteSubnetRoute:   ${fmt(one)}`);
  console.log(`  ${peers} peers appear at once → all programmed: ${fmt(all)}`);
  console.log(`  periodic pass with nothing to do (${peers} peers): ${fmt(idle)}`);
  clearInterval(keepAlive);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
