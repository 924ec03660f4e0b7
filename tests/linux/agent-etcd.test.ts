/**
 * A cluster of agents in etcd mode (a real etcd, one `switchyard agent` process per node namespace, the lab of
 * src/lab/agent-lab.ts), on host-gw (win-bridge pods) and on vxlan (win-overlay pods), pods added through the
 * native CNI entrypoint against each agent's socket:
 * - pods ping across nodes, and the CNI calls went through the agent (the entrypoint's fallback is disabled);
 * - host-gw: win-bridge pods reach their node and the other node through the `.2` host endpoint;
 * - a third node joins: its pods are reachable from the first two (polled up to 3 s); it leaves (agent stopped,
 *   lease deleted): its routes, and for vxlan its FDB and neighbour entries, are gone on the others;
 * - SIGKILL and restart of an agent: a continuous ping loses nothing, the pods' veths are untouched;
 * - a reboot simulation (agent down, the node's pod links, routes and nft ruleset wiped, its pods gone
 *   without CNI DEL): the restarted agent rebuilds the network, the pod's endpoint record (its veth and
 *   namespace gone) is dropped by the data plane's reconcile, the boot GC (the CNI invariant) releases its
 *   reservation, and a new ADD works across nodes.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AgentLab, type LabPodRuntime } from '../../src/lab/agent-lab';
import { uniquePrefix } from './helpers/lab';
import { AGENT_ONLY, agentLabOrSkip, ping, poll } from './helpers/agent-lab';

for (const backend of ['host-gw', 'vxlan'] as const) {
  describe(`linux: agents in etcd mode, ${backend}`, function () {
    this.timeout(180_000);
    let lab: AgentLab;
    const pod = (node: number): LabPodRuntime => lab.pods.find((p) => p.node.index === node)!;

    before(async function () {
      agentLabOrSkip(this);
      lab = new AgentLab(
        {
          prefix: uniquePrefix(backend === 'vxlan' ? 'saex' : 'saeh'),
          nodes: 3,
          podsPerNode: 0,
          type: backend === 'vxlan' ? 'Overlay' : 'L2Bridge',
        },
        { subnetSource: 'etcd', agents: 2 },
      );
      await lab.up();
      for (const n of lab.plan.nodes.slice(0, 2)) lab.addPod(n, `${n.name}-p0`, AGENT_ONLY);
    });

    after(async () => {
      await lab?.down();
    });

    it('each node got a lease from etcd and its CNI config; pods added through the agent ping across nodes', () => {
      const [s0, s1] = [lab.subnet(lab.plan.nodes[0]), lab.subnet(lab.plan.nodes[1])];
      assert.ok(s0 && s1 && s0 !== s1, `${s0} ${s1}`);
      assert.equal(lab.netConf(lab.plan.nodes[0]).type, backend === 'vxlan' ? 'win-overlay' : 'win-bridge');
      const [p, q] = [pod(0), pod(1)];
      assert.ok(p.ip.startsWith(s0.split('.').slice(0, 3).join('.') + '.'), `${p.ip} in ${s0}`);
      assert.ok(ping(lab, p.name, q.ip), `${p.ip} → ${q.ip}`);
      assert.ok(ping(lab, q.name, p.ip), `${q.ip} → ${p.ip}`);
    });

    if (backend === 'host-gw') {
      it('win-bridge pods reach their node and the other node through the .2 host endpoint', () => {
        const [a, b] = lab.plan.nodes;
        const p = pod(0);
        assert.equal(p.gateway, lab.subnet(a)!.replace(/0\/24$/, '2'));
        assert.match(lab.exec(p.name, ['ip', '-4', 'route', 'show', 'default']), new RegExp(`via ${p.gateway!.replace(/\./g, '\\.')}`));
        assert.match(lab.exec(a.name, ['ip', '-4', '-o', 'addr', 'show']), new RegExp(`inet ${p.gateway!.replace(/\./g, '\\.')}/24`));
        assert.ok(ping(lab, p.name, p.gateway!), 'pod → .2');
        assert.ok(ping(lab, p.name, a.underlayIp), 'pod → its node');
        assert.ok(ping(lab, p.name, b.underlayIp), 'pod → the other node');
      });
    }

    let joined: LabPodRuntime;
    let vtepMac = '';
    it('a third node joins: its pods are reachable from the first two within 3 s', async () => {
      const c = lab.plan.nodes[2];
      await lab.startAgent(c);
      joined = lab.addPod(c, `${c.name}-p0`, AGENT_ONLY);
      const reached = await poll(() => ping(lab, pod(0).name, joined.ip, 1) && ping(lab, pod(1).name, joined.ip, 1), 3000);
      assert.ok(reached, `${joined.ip} not reached from ${pod(0).ip} and ${pod(1).ip} within 3 s`);
      assert.ok(ping(lab, joined.name, pod(0).ip), `${joined.ip} → ${pod(0).ip}`);
      if (backend === 'vxlan') {
        const m = /link\/ether ([0-9a-f:]{17})/.exec(lab.exec(c.name, ['ip', '-o', 'link', 'show', 'type', 'vxlan']));
        assert.ok(m, 'the joined node has a vxlan device');
        vtepMac = m[1];
        assert.match(lab.exec(lab.plan.nodes[0].name, ['bridge', 'fdb', 'show']), new RegExp(vtepMac));
      }
    });

    it('the third node leaves (agent stopped, lease deleted): its routes and FDB entries are gone on the others', async () => {
      const c = lab.plan.nodes[2];
      const subnet = lab.subnet(c)!;
      await lab.leave(c);
      for (const n of lab.plan.nodes.slice(0, 2)) {
        const gone = await poll(() => lab.exec(n.name, ['ip', '-4', 'route', 'show', subnet]).trim() === '', 15_000);
        assert.ok(gone, `route to ${subnet} left on ${n.name}: ${lab.exec(n.name, ['ip', '-4', 'route', 'show', subnet])}`);
        if (backend === 'vxlan') {
          assert.doesNotMatch(lab.exec(n.name, ['bridge', 'fdb', 'show']), new RegExp(vtepMac), `FDB entry left on ${n.name}`);
          assert.doesNotMatch(lab.exec(n.name, ['ip', 'neigh', 'show']), new RegExp(vtepMac), `neighbour entry left on ${n.name}`);
        }
      }
      assert.equal(ping(lab, pod(0).name, joined.ip, 1), false, 'the departed node is still reachable');
    });

    it('SIGKILL and restart of an agent: a continuous ping loses nothing, the pod veths are untouched', async () => {
      const [p, q] = [pod(0), pod(1)];
      const a = lab.plan.nodes[0];
      const veths = () =>
        lab
          .exec(a.name, ['ip', '-o', 'link', 'show', 'type', 'veth'])
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(':').slice(0, 2).join(':'))
          .sort();
      const podLink = () => lab.exec(p.name, ['ip', '-o', 'link', 'show', 'eth0']).split(':')[0];
      const before = { veths: veths(), pod: podLink() };
      const pinger = spawn('ip', ['netns', 'exec', p.name, 'ping', '-i', '0.1', '-c', '40', '-W', '1', q.ip], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      pinger.stdout!.on('data', (d) => (text += d));
      const pinged = new Promise((r) => pinger.once('close', r));
      await new Promise((r) => setTimeout(r, 500));
      await lab.stopAgent(a, 'SIGKILL');
      await lab.startAgent(a);
      await pinged;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(text);
      assert.ok(m, text);
      assert.equal(m[2], m[1], text);
      const log = fs.readFileSync(lab.agent(a).log, 'utf8');
      assert.doesNotMatch(log, /"step":"(create|delete)/, 'the restarted agent recreated or deleted something');
      assert.deepEqual({ veths: veths(), pod: podLink() }, before);
    });

    let rebootedStore = '';
    let rebootedIp = '';
    it('reboot simulation: links, routes and rules wiped while the agent is down; the network is rebuilt and a new ADD works', async () => {
      const b = lab.plan.nodes[1];
      const old = pod(1);
      const net = lab.netConf(b).name as string;
      const store = path.join(lab.agent(b).dir, 'ipam', net);
      assert.ok(fs.existsSync(path.join(store, old.ip)), `reservation of ${old.ip} in ${store}`);
      await lab.stopAgent(b, 'SIGKILL');
      // What a reboot leaves: the pod is gone without CNI DEL, the kernel's links, routes and nft rules are gone,
      // files on disk (IPAM store, data-plane state) stay, older than the collector's in-flight window.
      lab.forgetPod(old);
      for (const line of lab.exec(b.name, ['ip', '-o', 'link', 'show']).split('\n').filter(Boolean)) {
        const name = line.split(':')[1].trim().split('@')[0];
        if (name === 'lo' || name === 'eth0') continue;
        try {
          lab.exec(b.name, ['ip', 'link', 'del', name]);
        } catch (e) {
          // Deleting one end of a pair (or a bridge's port) can take another listed link with it.
          if (!/Cannot find device/.test(String((e as { stderr?: unknown }).stderr ?? (e as Error).message))) throw e;
        }
      }
      lab.exec(b.name, ['ip', '-4', 'route', 'flush', 'root', lab.plan.spec.clusterCidr]);
      lab.exec(b.name, ['nft', 'flush', 'ruleset']);
      assert.equal(lab.exec(b.name, ['ip', '-o', 'link', 'show']).trim().split('\n').length, 2);
      const past = new Date(Date.now() - 5 * 60_000);
      for (const f of fs.readdirSync(store)) fs.utimesSync(path.join(store, f), past, past);
      rebootedStore = store;
      rebootedIp = old.ip;

      await lab.startAgent(b);
      const gateway = lab.subnet(b)!.replace(/0\/24$/, backend === 'vxlan' ? '1' : '2');
      assert.match(
        lab.exec(b.name, ['ip', '-4', '-o', 'addr', 'show']),
        new RegExp(`inet ${gateway.replace(/\./g, '\\.')}/`),
        'network rebuilt',
      );
      const fresh = lab.addPod(b, `${b.name}-r0`, AGENT_ONLY);
      assert.ok(ping(lab, fresh.name, pod(0).ip), `${fresh.ip} → ${pod(0).ip}`);
      assert.ok(ping(lab, pod(0).name, fresh.ip), `${pod(0).ip} → ${fresh.ip}`);
    });

    it("reboot simulation: the rebooted pod's endpoint record is dropped and its stale IPAM reservation collected at boot", () => {
      assert.equal(fs.existsSync(path.join(rebootedStore, rebootedIp)), false, fs.readdirSync(rebootedStore).join(','));
      const log = fs.readFileSync(lab.agent(lab.plan.nodes[1]).log, 'utf8');
      assert.match(log, new RegExp(`released ${rebootedIp.replace(/\./g, '\\.')} \\(reserved for`), 'the collection is logged');
    });
  });
}
