/**
 * `agent cleanup` on the memory and hcn-stub data planes: what the agent created goes (network, host and
 * source-VIP endpoints, files, its reservations), what it did not create stays (an adopted network and its
 * foreign policies, a pod's endpoint and reservation, a file it found identical), pods' endpoints refuse the
 * cleanup unless --force; and through the CLI, the exit codes.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanupAgent, CleanupRefusedError } from '../../src/agent/cleanup';
import { AgentLab, HOSTGW_NETCONF, PLANES, peer } from './helpers';

for (const plane of PLANES) {
  describe(`agent cleanup on the ${plane.name} data plane`, function () {
    let lab: AgentLab;
    before(function () {
      if (!plane.available()) this.skip();
    });
    beforeEach(() => {
      plane.reset();
      lab = new AgentLab(plane);
    });
    afterEach(async () => {
      await lab.cleanup();
      plane.reset();
    });

    const files = () => ({
      conflist: path.join(lab.dir, 'net.d', '10-switchyard.conflist'),
      bin: path.join(lab.dir, 'bin', 'win-overlay'),
      subnetEnv: path.join(lab.dir, 'subnet.env'),
      hostRes: path.join(lab.dir, 'ipam', 'flannel.4096', '10.244.1.2'),
      vipRes: path.join(lab.dir, 'ipam', 'flannel.4096', '10.244.1.3'),
    });

    it('removes the network it created, its endpoints, files and reservations, and nothing else', async () => {
      const config = lab.config();
      await lab.start(config, [peer(2)]);
      const f = files();
      for (const file of Object.values(f)) assert.ok(fs.existsSync(file), file);
      // Something the agent did not create: a file of someone else's in the CNI dirs.
      fs.writeFileSync(path.join(lab.dir, 'net.d', '99-other.conflist'), '{}');
      await lab.running!.stop();
      const m = lab.mark();
      const r = await cleanupAgent(config, lab.svc!);
      assert.equal(r.nothingRecorded, false);
      assert.equal((await lab.svc!.listNetworks()).filter((n) => n.Name === 'flannel.4096').length, 0);
      assert.equal((await lab.svc!.listEndpoints()).filter((e) => /flannel\.4096_ep|source_vip/.test(e.Name ?? '')).length, 0);
      for (const [k, file] of Object.entries(f)) assert.equal(fs.existsSync(file), false, `${k}: ${file} left`);
      assert.ok(fs.existsSync(path.join(lab.dir, 'net.d', '99-other.conflist')), "someone else's conflist deleted");
      const ops = lab.writes(m).map((w) => w.op);
      assert.ok(ops.includes('deleteNetwork'), ops.join(','));
      assert.ok(
        r.removed.some((l) => /^network flannel\.4096/.test(l)),
        r.removed.join('\n'),
      );
      // A second run: nothing recorded any more.
      assert.equal((await cleanupAgent(config, lab.svc!)).nothingRecorded, true);
    });

    it("refuses while a pod's endpoint is on the network, naming it; --force deletes the network it created", async () => {
      const config = lab.config();
      await lab.start(config);
      const net = (await lab.svc!.listNetworks()).find((n) => n.Name === 'flannel.4096')!;
      const pod = await lab.svc!.createEndpoint(net.ID!, {
        Name: 'c0ffee_flannel.4096',
        HostComputeNetwork: net.ID,
        IpConfigurations: [{ IpAddress: '10.244.1.7' }],
      });
      const podRes = path.join(lab.dir, 'ipam', 'flannel.4096', '10.244.1.7');
      fs.writeFileSync(podRes, 'c0ffee\r\neth0');
      await lab.running!.stop();
      const m = lab.mark();
      await assert.rejects(cleanupAgent(config, lab.svc!), (e: Error) => {
        assert.ok(e instanceof CleanupRefusedError);
        assert.match(e.message, /c0ffee_flannel\.4096/);
        return true;
      });
      assert.deepEqual(lab.writes(m), [], 'a refused cleanup changed something');
      assert.ok(fs.existsSync(files().conflist));
      const r = await cleanupAgent(config, lab.svc!, { force: true });
      assert.ok(
        r.removed.some((l) => l.includes(pod.ID!)),
        r.removed.join('\n'),
      );
      assert.equal(
        (await lab.svc!.listNetworks()).some((n) => n.Name === 'flannel.4096'),
        false,
      );
      assert.ok(fs.existsSync(podRes), "the pod's reservation is the CNI's, not the agent's");
    });

    it('host-gw: removes the host routes it added for peers, and leaves a route someone else added', async () => {
      const config = lab.config({ iface: 'Ethernet' }, HOSTGW_NETCONF);
      await lab.start(config, [peer(2, { backendType: 'host-gw', vni: undefined, vtepMac: undefined })]);
      const routes = lab.svc!.hostRoutes!;
      const via = 'vEthernet (Ethernet)';
      await routes.add({ destinationPrefix: '172.16.0.0/16', nextHop: '192.168.0.1', interfaceAlias: via });
      await lab.running!.stop();
      const r = await cleanupAgent(config, lab.svc!);
      assert.ok(r.removed.includes('host route 10.244.2.0/24 via 192.168.0.11'), r.removed.join('\n'));
      assert.deepEqual(
        (await routes.list()).map((x) => `${x.destinationPrefix} via ${x.nextHop}`),
        ['172.16.0.0/16 via 192.168.0.1'],
      );
    });

    it('an adopted network stays, with its foreign policies; only the peer policies the agent added come off', async () => {
      const svc = await plane.open(lab.dir, lab.callLog);
      lab.svc = svc;
      await plane.prepare(svc);
      const config = lab.config();
      // A network made by someone else (flannel, an operator), as the agent would make it, so it is adopted.
      await lab.start(config);
      const made = (await svc.listNetworks()).find((n) => n.Name === 'flannel.4096')!;
      await lab.running!.stop();
      // Forget what the agent recorded, so that network counts as found, not created.
      fs.rmSync(path.join(lab.dir, 'ipam', '.switchyard-agent'), { recursive: true, force: true });
      await lab.restart(config, [peer(2)]);
      await lab.running!.stop();
      const before = (await lab.svc!.getNetwork(made.ID!)).Policies!.filter((p) => p.Type === 'RemoteSubnetRoute');
      assert.equal(before.length, 1);
      const r = await cleanupAgent(config, lab.svc!);
      const after = await lab.svc!.getNetwork(made.ID!);
      assert.ok(after, 'the adopted network was deleted');
      assert.equal((after.Policies ?? []).filter((p) => p.Type === 'RemoteSubnetRoute').length, 0, 'peer policy left');
      assert.ok(
        (await lab.svc!.listEndpoints()).some((e) => e.Name === 'flannel.4096_ep'),
        'an adopted host endpoint (not created by this run) was deleted',
      );
      assert.ok(!r.removed.some((l) => /^network /.test(l)), r.removed.join('\n'));
    });
  });
}

describe('switchyard agent cleanup (CLI)', function () {
  this.timeout(60_000);
  const cli = path.resolve(__dirname, '../../src/cli/main.js');
  let lab: AgentLab;
  beforeEach(() => (lab = new AgentLab(PLANES[0])));
  afterEach(() => lab.cleanup());

  it('has its own usage (what service uninstall --purge looks for); exit 1 naming the pods, 0 once removed', async () => {
    const help = spawnSync(process.execPath, [cli, 'agent', 'cleanup', '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage: switchyard agent cleanup\b/);
    const config = lab.config({ dataplane: 'memory', state: path.join(lab.dir, 'hns.json') });
    await lab.start(config);
    const net = (await lab.svc!.listNetworks()).find((n) => n.Name === 'flannel.4096')!;
    await lab.svc!.createEndpoint(net.ID!, {
      Name: 'abc_flannel.4096',
      HostComputeNetwork: net.ID,
      IpConfigurations: [{ IpAddress: '10.244.1.9' }],
    });
    await lab.running!.stop();
    await lab.svc!.close();
    lab.svc = undefined;
    const file = path.join(lab.dir, 'agent.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        node: 'n1',
        podCIDR: '10.244.1.0/24',
        publicIP: '192.168.0.10',
        netConf: { Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 4096 } },
        subnetEnv: path.join(lab.dir, 'subnet.env'),
        cni: { confDir: path.join(lab.dir, 'net.d'), binDir: path.join(lab.dir, 'bin'), ipamDataDir: path.join(lab.dir, 'ipam') },
      }),
    );
    const run = (...extra: string[]) =>
      spawnSync(
        process.execPath,
        [cli, '--dataplane', 'memory', '--state', path.join(lab.dir, 'hns.json'), 'agent', 'cleanup', '--config', file, ...extra],
        {
          encoding: 'utf8',
          env: { ...process.env, SWITCHYARD_CALL_LOG: '' },
        },
      );
    const refused = run();
    assert.equal(refused.status, 1, refused.stderr + refused.stdout);
    assert.match(refused.stderr, /abc_flannel\.4096/);
    const forced = run('--force');
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stdout, /removed network flannel\.4096/);
    assert.equal(fs.existsSync(path.join(lab.dir, 'net.d', '10-switchyard.conflist')), false);
    const again = run();
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /nothing to clean up/);
  });
});
