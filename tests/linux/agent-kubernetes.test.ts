/**
 * Two agents in kubernetes mode against the lab's fake API server (src/lab/fake-apiserver, run as its own
 * process, the agents' real @kubernetes/client-node client talking to it over HTTP): each node's subnet is its
 * Node's spec.podCIDR, each agent writes flannel's annotations on its Node, and pods added through the agents
 * ping across nodes on vxlan. Then the local API of a running agent refuses a non-root peer (uid 65534 through
 * setpriv): by the socket's file modes, and by its peer-credential check when those modes are loosened.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AgentLab } from '../../src/lab/agent-lab';
import { uniquePrefix } from './helpers/lab';
import { AGENT_ONLY, agentLabOrSkip, ping } from './helpers/agent-lab';

/** A status request on the agent socket, sent by a process running as uid/gid 65534; prints the reply or the error. */
function statusAsNobody(socket: string): { code: number; out: string } {
  const script = `
    const net = require('node:net');
    const s = net.connect(process.argv[1]);
    const body = Buffer.from(JSON.stringify({ op: 'status' }));
    const len = Buffer.alloc(4); len.writeUInt32BE(body.length);
    let got = Buffer.alloc(0);
    s.on('connect', () => s.write(Buffer.concat([len, body])));
    s.on('data', (d) => (got = Buffer.concat([got, d])));
    s.on('error', (e) => { console.log('error ' + e.code); process.exit(3); });
    s.on('close', () => { console.log('uid ' + process.getuid() + ' reply ' + got.subarray(4).toString()); process.exit(0); });`;
  const r = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, '-e', script, socket], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe('linux: agents in kubernetes mode (fake API server), vxlan', function () {
  this.timeout(180_000);
  let lab: AgentLab;

  before(async function () {
    agentLabOrSkip(this);
    lab = new AgentLab({ prefix: uniquePrefix('sakx'), nodes: 2, podsPerNode: 0, type: 'Overlay' }, { subnetSource: 'kubernetes' });
    await lab.up();
    for (const n of lab.plan.nodes) lab.addPod(n, `${n.name}-p0`, AGENT_ONLY);
  });

  after(async () => {
    await lab?.down();
  });

  it("each node's subnet is its Node's spec.podCIDR and its agent annotated the Node as flannel does", async () => {
    for (const n of lab.plan.nodes) {
      assert.equal(lab.subnet(n), n.podSubnet);
      const node = (await (await fetch(`${lab.apiserver!.url}/api/v1/nodes/${n.name}`)).json()) as {
        metadata: { annotations?: Record<string, string> };
      };
      const a = node.metadata.annotations ?? {};
      assert.equal(a['flannel.alpha.coreos.com/backend-type'], 'vxlan');
      assert.equal(a['flannel.alpha.coreos.com/public-ip'], n.underlayIp);
      assert.equal(a['flannel.alpha.coreos.com/kube-subnet-manager'], 'true');
      assert.match(a['flannel.alpha.coreos.com/backend-data'], /^\{"VNI":4096,"VtepMAC":"([0-9a-f]{2}:){5}[0-9a-f]{2}"\}$/);
    }
  });

  it('pods added through the agents ping across nodes', () => {
    const [p, q] = lab.pods;
    assert.notEqual(p.node, q.node);
    assert.ok(ping(lab, p.name, q.ip), `${p.ip} → ${q.ip}`);
    assert.ok(ping(lab, q.name, p.ip), `${q.ip} → ${p.ip}`);
  });

  it('the local API of a running agent refuses a non-root peer (file modes, then peer credentials)', function () {
    if (!fs.existsSync('/usr/bin/setpriv') && !fs.existsSync('/bin/setpriv')) this.skip();
    const a = lab.agents[0];
    const dir = path.dirname(a.socket);
    const root = statusAsNobody(a.socket);
    assert.equal(root.code, 3, root.out);
    assert.match(root.out, /error EACCES/);
    // With the directory and socket opened up (a misconfiguration), the server itself still refuses uid 65534.
    const modes = [lab.lab.stateDir, dir, a.socket].map((f) => [f, fs.statSync(f).mode & 0o777] as const);
    try {
      fs.chmodSync(lab.lab.stateDir, 0o711);
      fs.chmodSync(dir, 0o711);
      fs.chmodSync(a.socket, 0o666);
      const r = statusAsNobody(a.socket);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /uid 65534 reply .*permission denied: uid 65534/);
      assert.doesNotMatch(r.out, /"subnet"/);
    } finally {
      for (const [f, mode] of modes) fs.chmodSync(f, mode);
    }
    assert.match(fs.readFileSync(a.log, 'utf8'), /"api request refused"/);
    // root still gets an answer through the same socket (the CNI entrypoint is root's path to it)
    assert.ok(ping(lab, lab.pods[0].name, lab.pods[1].ip));
  });
});
