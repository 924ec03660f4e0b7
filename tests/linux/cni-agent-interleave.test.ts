/**
 * Agent calls and standalone plugins on one node at the same time (issue 10, point 3): the agent's
 * in-process executor with kept-open data planes (one state write per call, shared by concurrent calls:
 * src/dataplane/linux/state-store.ts) and standalone `switchyard` processes run ADDs concurrently on the
 * same state file and IPAM store, then each route deletes the other's pods. No duplicate address, no lost
 * endpoint, nothing left behind.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { NetnsLab, nsPath } from '../../src/lab/netns-driver';
import { execCni } from '../../src/cni/exec';
import { WarmServices } from '../../src/cni/warm-services';
import { openDataplane } from '../../src/dataplane/factory';
import { canRunNetns, uniquePrefix } from './helpers/lab';

const BIN = path.resolve(__dirname, '../../cni/bin');
const PER_ROUTE = 6;

interface Out {
  code: number | null;
  out: string;
  err: string;
}

describe('linux data plane: agent and standalone CNI calls interleaved on one node', function () {
  let lab: NetnsLab;
  let dataDir: string;
  let services: WarmServices;

  before(async function () {
    if (!canRunNetns() || !fs.existsSync(path.join(BIN, 'switchyard'))) this.skip();
    lab = new NetnsLab({ prefix: uniquePrefix('syi'), nodes: 1, podsPerNode: 0, type: 'Overlay' });
    try {
      lab.underlay();
      await lab.network();
    } catch (e) {
      await lab.down();
      throw e;
    }
    dataDir = path.join(lab.stateDir, 'ipam');
    services = new WarmServices((env) => openDataplane({ env: env as NodeJS.ProcessEnv }));
  });
  after(async () => {
    await services?.close();
    await lab?.down();
  });

  const node = () => lab.plan.nodes[0];
  const conf = () =>
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'pods',
      type: 'switchyard',
      mode: 'overlay',
      network: `${lab.plan.spec.prefix}-overlay`,
      ipam: { type: 'switchyard-ipam', subnet: node().podSubnet, rangeStart: node().podSubnet.replace(/0\/24$/, '10'), dataDir },
    });
  const cniEnv = (command: string, id: string, ns: string): Record<string, string> => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: id,
    CNI_NETNS: nsPath(ns),
    CNI_IFNAME: 'eth0',
    CNI_PATH: BIN,
  });

  async function viaAgent(command: string, id: string, ns: string): Promise<Out> {
    const baseEnv = { ...lab.nodeEnv(node()), SWITCHYARD_DATAPLANE: 'linux' };
    const r = await execCni({ plugin: 'switchyard', env: cniEnv(command, id, ns), stdin: Buffer.from(conf()) }, { baseEnv, services });
    return { code: r.exitCode, out: r.stdout, err: r.stderr };
  }

  function standalone(command: string, id: string, ns: string): Promise<Out> {
    const env: NodeJS.ProcessEnv = { ...lab.nodeEnv(node()), SWITCHYARD_DATAPLANE: 'linux', ...cniEnv(command, id, ns) };
    delete env.NODE_EXTRA_CA_CERTS;
    return new Promise((resolve) => {
      const child = spawn(path.join(BIN, 'switchyard'), [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (code) => resolve({ code, out, err }));
      child.stdin.end(conf());
    });
  }

  const reservations = () =>
    fs.existsSync(path.join(dataDir, 'pods'))
      ? fs.readdirSync(path.join(dataDir, 'pods')).filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n))
      : [];

  it('concurrent ADDs of both routes get distinct working addresses, all recorded; cross-route DELs leave nothing', async () => {
    const pods = Array.from({ length: 2 * PER_ROUTE }, (_, i) => {
      const ns = `${lab.plan.spec.prefix}-p${i}`;
      lab.addNetns(ns);
      return { id: `ctr${i}${lab.plan.spec.prefix}`, ns, agent: i % 2 === 0 };
    });
    const added = await Promise.all(pods.map((p) => (p.agent ? viaAgent : standalone)('ADD', p.id, p.ns)));
    const ips = added.map((r, i) => {
      assert.equal(r.code, 0, `${pods[i].agent ? 'agent' : 'standalone'} ADD of ${pods[i].id}: ${r.out}${r.err}`);
      return (JSON.parse(r.out) as { ips: { address: string }[] }).ips[0].address.split('/')[0];
    });
    assert.equal(new Set(ips).size, ips.length, `no address handed out twice: ${ips.join(' ')}`);
    pods.forEach((p, i) =>
      assert.match(lab.exec(p.ns, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']), new RegExp(`inet ${ips[i].replace(/\./g, '\\.')}/`)),
    );
    assert.deepEqual(reservations().sort(), [...ips].sort(), 'one reservation per pod');
    const dp = await lab.openNode(node());
    try {
      const names = (await dp.listEndpoints()).map((e) => e.Name);
      for (const p of pods) assert.ok(names.includes(`${p.id}_pods`), `endpoint of ${p.id} recorded`);
    } finally {
      await dp.close();
    }

    // Each route deletes the other's pods, all at once.
    const deleted = await Promise.all(pods.map((p) => (p.agent ? standalone : viaAgent)('DEL', p.id, p.ns)));
    deleted.forEach((r, i) => assert.equal(r.code, 0, `DEL of ${pods[i].id}: ${r.out}${r.err}`));
    for (const p of pods) assert.doesNotMatch(lab.exec(p.ns, ['ip', '-o', 'link', 'show']), /eth0/, `no interface left in ${p.ns}`);
    assert.deepEqual(reservations(), [], 'no reservation left');
    const after = await lab.openNode(node());
    try {
      const left = (await after.listEndpoints()).filter((e) => pods.some((p) => e.Name === `${p.id}_pods`));
      assert.deepEqual(left, [], 'no endpoint left');
    } finally {
      await after.close();
    }
    assert.doesNotMatch(lab.exec(node().name, ['ip', '-o', 'link', 'show']), /syv[0-9a-f]{10}@/, 'no pod veth left on the node');
  });
});
