/**
 * The `switchyard` CNI executable on Linux with the linux data plane, as a runtime calls it: CNI_NETNS gets a
 * working interface, address, routes and DNS result; a repeated ADD is answered without a second
 * interface; CHECK notices a deleted address or link; DEL removes everything and is idempotent.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { NetnsLab, nsPath } from '../../src/lab/netns-driver';
import { canRunNetns, uniquePrefix } from './helpers/lab';

const BIN = path.resolve(__dirname, '../../cni/bin');

describe('linux data plane: CNI entrypoint (switchyard type, overlay mode)', function () {
  let lab: NetnsLab;
  let dataDir: string;

  before(async function () {
    if (!canRunNetns() || !fs.existsSync(path.join(BIN, 'switchyard'))) this.skip();
    lab = new NetnsLab({ prefix: uniquePrefix('syc'), nodes: 2, podsPerNode: 0, type: 'Overlay' });
    try {
      lab.underlay();
      await lab.network();
    } catch (e) {
      await lab.down();
      throw e;
    }
    dataDir = path.join(lab.stateDir, 'ipam');
  });
  after(async () => lab?.down());

  function conf(node: number, extra: Record<string, unknown> = {}): string {
    const n = lab.plan.nodes[node];
    return JSON.stringify({
      cniVersion: '1.0.0',
      name: 'pods',
      type: 'switchyard',
      mode: 'overlay',
      network: `${lab.plan.spec.prefix}-overlay`,
      ipMasq: true,
      ipam: { type: 'switchyard-ipam', subnet: n.podSubnet, rangeStart: n.podSubnet.replace(/0\/24$/, '10'), dataDir },
      dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
      ...extra,
    });
  }

  function cni(command: string, node: number, containerId: string, netns: string, stdin = conf(node)) {
    const env: NodeJS.ProcessEnv = {
      ...lab.nodeEnv(lab.plan.nodes[node]),
      SWITCHYARD_DATAPLANE: 'linux',
      CNI_COMMAND: command,
      CNI_CONTAINERID: containerId,
      CNI_NETNS: netns,
      CNI_IFNAME: 'eth0',
      CNI_PATH: BIN,
    };
    delete env.NODE_EXTRA_CA_CERTS;
    const r = spawnSync(path.join(BIN, 'switchyard'), [], { input: stdin, env, encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  }

  const pods: { id: string; ns: string; node: number; ip?: string }[] = [];

  it('ADD configures eth0 in CNI_NETNS and returns interface, address, gateway and DNS', () => {
    for (const node of [0, 1]) {
      const name = `${lab.plan.spec.prefix}-c${node}`;
      lab.addNetns(name);
      const id = `ctr${node}${lab.plan.spec.prefix}`;
      const r = cni('ADD', node, id, nsPath(name));
      assert.equal(r.code, 0, r.out + r.err);
      const res = JSON.parse(r.out);
      assert.equal(res.interfaces[0].name, 'eth0');
      assert.equal(res.interfaces[0].sandbox, nsPath(name));
      const ip = res.ips[0].address.split('/')[0];
      assert.equal(res.ips[0].gateway, lab.plan.nodes[node].gateway);
      assert.deepEqual(res.dns.nameservers, ['10.96.0.10']);
      assert.match(lab.exec(name, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']), new RegExp(`inet ${ip.replace(/\./g, '\\.')}/24`));
      assert.match(lab.exec(name, ['ip', 'link', 'show', 'eth0']), new RegExp(`link/ether ${res.interfaces[0].mac.toLowerCase()}`));
      // Created with one queue each way (no queue-count change, and its RCU wait, after registration).
      assert.match(lab.exec(name, ['ip', '-d', 'link', 'show', 'eth0']), /numtxqueues 1 numrxqueues 1\b/);
      pods.push({ id, ns: name, node, ip });
    }
    assert.ok(
      lab.ok(pods[0].ns, ['ping', '-c', '1', '-W', '2', pods[1].ip!]),
      'pods added by CNI on two nodes reach each other over the overlay',
    );
  });

  it('a second ADD for the same container returns the same address without a second interface', () => {
    const p = pods[0];
    const r = cni('ADD', p.node, p.id, nsPath(p.ns));
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(JSON.parse(r.out).ips[0].address.split('/')[0], p.ip);
    assert.equal(
      lab
        .exec(p.ns, ['ip', '-o', 'link', 'show'])
        .split('\n')
        .filter((l) => /eth\d/.test(l)).length,
      1,
    );
  });

  it('ADD into a namespace whose eth0 is taken fails naming it and leaves no veth, endpoint or reservation', async () => {
    const name = `${lab.plan.spec.prefix}-taken`;
    lab.addNetns(name);
    lab.exec(name, ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'own0']);
    const before = fs.readdirSync(path.join(dataDir, 'pods')).sort();
    const veths = () => lab.exec(lab.plan.nodes[0].name, ['ip', '-o', 'link', 'show']).match(/syv[0-9a-f]{10}/g) ?? [];
    const vethsBefore = veths();
    const r = cni('ADD', 0, `taken${lab.plan.spec.prefix}`, nsPath(name));
    assert.notEqual(r.code, 0, r.out);
    assert.match(JSON.parse(r.out).details ?? JSON.parse(r.out).msg, /interface eth0 already exists in/);
    assert.deepEqual(fs.readdirSync(path.join(dataDir, 'pods')).sort(), before, 'the address went back');
    assert.deepEqual(veths(), vethsBefore, 'no host veth left');
    const eps = (await lab.runtimes[0].dp.listEndpoints()).map((e) => e.Name);
    assert.ok(!eps.some((n) => n?.includes('taken')), `no endpoint left: ${eps.join(', ')}`);
    assert.match(lab.exec(name, ['ip', '-d', 'link', 'show', 'eth0']), /veth/, 'the namespace’s own eth0 is untouched');
  });

  it('CHECK passes, then detects a removed address and a removed link', () => {
    const p = pods[1];
    const prev = JSON.parse(cni('ADD', p.node, p.id, nsPath(p.ns)).out);
    const check = () => cni('CHECK', p.node, p.id, nsPath(p.ns), JSON.stringify({ ...JSON.parse(conf(p.node)), prevResult: prev }));
    assert.equal(check().code, 0, check().out);
    lab.exec(p.ns, ['ip', 'addr', 'del', `${p.ip}/24`, 'dev', 'eth0']);
    const noAddr = check();
    assert.notEqual(noAddr.code, 0, `${noAddr.out}${noAddr.err}`);
    assert.match(noAddr.out, /address/);
    lab.exec(p.ns, ['ip', 'link', 'del', 'eth0']);
    const noLink = check();
    assert.notEqual(noLink.code, 0);
    assert.match(noLink.out, /not attached/);
  });

  it('DEL removes the interface, the host veth, the endpoint and the IPAM reservation; a second DEL succeeds', async () => {
    for (const p of pods) {
      const r = cni('DEL', p.node, p.id, nsPath(p.ns));
      assert.equal(r.code, 0, r.out + r.err);
      assert.doesNotMatch(lab.exec(p.ns, ['ip', '-o', 'link', 'show']), /eth0/);
      assert.doesNotMatch(lab.exec(lab.plan.nodes[p.node].name, ['ip', '-o', 'link', 'show']), /syv[0-9a-f]{10}/);
      assert.deepEqual(await lab.runtimes[p.node].dp.listEndpoints(), []);
      assert.equal(fs.existsSync(path.join(dataDir, 'pods', p.ip!)), false);
      assert.equal(cni('DEL', p.node, p.id, nsPath(p.ns)).code, 0);
    }
  });
});
