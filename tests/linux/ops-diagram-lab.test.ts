/**
 * switchyard diagram and lab diagram on a real 2-node lab with agents (root): each node is a network
 * namespace running its own agent on the linux data plane (subnets from the fake API server), two pods per
 * node added through the CNI entrypoint. The node picture (one node, with its agent) names the node, its
 * subnet, the peer node with its subnet and the VXLAN path, and its pods; the lab picture names both nodes,
 * both subnets, the path each way and every pod. Everything is removed afterwards, pass or fail.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AgentLab } from '../../src/lab/agent-lab';
import { NetnsLab } from '../../src/lab/netns-driver';
import { agentLabOrSkip } from './helpers/agent-lab';
import { uniquePrefix } from './helpers/lab';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');

/** The SVG's text lines, entities decoded. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1].replace(/&#45;/g, '-').replace(/&gt;/g, '>'));
}

describe('linux: diagram of a 2-node agent lab (root)', function () {
  this.timeout(180_000);
  let lab: AgentLab | undefined;
  let prefix = '';
  let dir = '';
  const cli = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
    spawnSync(process.execPath, [MAIN, ...args], { env, cwd: dir, encoding: 'utf8', timeout: 120_000 });

  before(async function () {
    agentLabOrSkip(this);
    prefix = uniquePrefix('sydg');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-diagram-'));
    lab = new AgentLab({ prefix, nodes: 2, podsPerNode: 2, type: 'Overlay' }, { subnetSource: 'kubernetes' });
    await lab.up();
  });
  after(async () => {
    await lab?.down();
    if (prefix) fs.rmSync(NetnsLab.recordPath(prefix), { force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('switchyard diagram on node 0 with its agent: the node, its subnet and pods, the peer node, its subnet and the VXLAN path', () => {
    const [n0, n1] = lab!.plan.nodes;
    const a0 = lab!.agent(n0);
    const env = { ...lab!.lab.nodeEnv(n0), SWITCHYARD_DATAPLANE: 'linux' };
    const r = cli(['diagram', '-o', path.join(dir, 'n0.svg'), '--socket', a0.socket], env);
    assert.equal(r.status, 0, r.stderr);
    const t = texts(fs.readFileSync(path.join(dir, 'n0.svg'), 'utf8'));
    assert.ok(
      t.some((l) => l.startsWith(`node ${n0.name} ${lab!.subnet(n0)}`)),
      t.join('\n'),
    );
    assert.ok(t.includes(`peer ${n1.name}`) && t.includes(lab!.subnet(n1)!) && t.includes(`node IP ${n1.underlayIp}`), t.join('\n'));
    assert.ok(t.includes('VXLAN VNI 4096'), t.join('\n'));
    for (const p of lab!.pods.filter((x) => x.node === n0)) {
      assert.ok(t.includes(`endpoint ${p.containerId}_flannel.4096`), `pod ${p.name}: ${t.join('\n')}`);
      assert.ok(t.includes(`${p.ip}/24`), `pod ${p.name} ${p.ip}`);
    }
    assert.ok(!lab!.pods.some((p) => p.node === n1 && t.includes(`${p.ip}/24`)), "node 0's picture holds only its own pods");
  });

  it('switchyard lab diagram: both nodes, both subnets, the path each way and every pod; the PNG renders', () => {
    lab!.detach(); // the record lab diagram reads (removed in after)
    const svgFile = path.join(dir, 'lab.svg');
    const r = cli(['lab', 'diagram', '--prefix', prefix, '-o', svgFile]);
    assert.equal(r.status, 0, r.stderr);
    const t = texts(fs.readFileSync(svgFile, 'utf8'));
    const [n0, n1] = lab!.plan.nodes;
    for (const n of [n0, n1]) assert.ok(t.includes(`node ${n.name} ${lab!.subnet(n)}`), `${n.name}: ${t.join('\n')}`);
    assert.ok(t.includes(`VXLAN VNI 4096 to ${n1.underlayIp}`) && t.includes(`VXLAN VNI 4096 to ${n0.underlayIp}`), t.join('\n'));
    assert.ok(!t.some((l) => l.startsWith('peer ')), 'peers inside the picture are drawn as paths between nodes, not peer boxes');
    for (const p of lab!.pods) assert.ok(t.includes(`endpoint ${p.containerId}_flannel.4096`) && t.includes(`${p.ip}/24`), p.name);
    const png = cli(['lab', 'diagram', '--prefix', prefix, '-o', path.join(dir, 'lab.png'), '--width', '1000']);
    assert.equal(png.status, 0, png.stderr);
    const buf = fs.readFileSync(path.join(dir, 'lab.png'));
    assert.equal(buf.subarray(1, 4).toString('latin1'), 'PNG');
    assert.equal(buf.readUInt32BE(16), 1000);
    assert.ok(buf.readUInt32BE(20) > 100);
  });
});
