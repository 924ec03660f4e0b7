/**
 * The agent's boot and reconcile, asserted on the HCN documents it sends (call log), on the memory and the
 * hcn-stub data planes: the same agent code that the Windows service runs.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { networkPolicyRequest, type HostComputeNetwork, type NetworkPolicy } from '../../src/hns';
import { DiskStore } from '../../src/cni/ipam/store';
import { readCallLog } from '../../src/dataplane/call-log';
import { AgentLab, HOSTGW_NETCONF, PLANES, peer } from './helpers';

const body = <T>(r: { body?: unknown }) => r.body as T;
const rsrs = (n: HostComputeNetwork) => (n.Policies ?? []).filter((p) => p.Type === 'RemoteSubnetRoute');

for (const plane of PLANES) {
  describe(`agent on the ${plane.name} data plane`, function () {
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

    it('boot (vxlan) sends exactly the network, host-endpoint, source-VIP and attach documents, then is ready', async () => {
      const m = lab.mark();
      const r = await lab.start();
      const writes = lab.writes(m);
      const ops = writes.map(
        (w) =>
          `${w.op}${w.op === 'createNetwork' ? ` ${body<HostComputeNetwork>(w).Name}` : w.op === 'createEndpoint' ? ` ${body<{ Name: string }>(w).Name}` : ''}`,
      );
      const windows = plane.name === 'hcn-stub';
      const caps = lab.svc!.capabilities;
      // The wrapper of the memory plane records attachEndpoint; hcn records the HcnModifyNamespace it makes of it.
      assert.deepEqual(
        ops.filter((o) => o !== 'createNamespace'),
        [
          ...(caps.externalPlaceholderNetwork ? ['createNetwork External'] : []),
          'createNetwork flannel.4096',
          'createEndpoint flannel.4096_ep',
          'createEndpoint source_vip',
          windows ? 'modifyNamespace' : 'attachEndpoint',
        ],
      );
      const net = body<HostComputeNetwork>(
        writes.find((w) => w.op === 'createNetwork' && body<HostComputeNetwork>(w).Name === 'flannel.4096')!,
      );
      assert.equal(net.Type, 'Overlay');
      assert.equal(net.Flags, 8, 'non-persistent, as flannel creates it');
      assert.deepEqual(net.Ipams, [
        {
          Type: 'Static',
          Subnets: [
            {
              IpAddressPrefix: '10.244.1.0/24',
              Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }],
              Policies: [{ Type: 'VSID', Settings: { IsolationId: 4096 } }],
            },
          ],
        },
      ]);
      // Windows HNS fills in the ProviderAddress itself; other planes are told the node's address.
      assert.equal(
        (net.Policies ?? []).some((p) => p.Type === 'ProviderAddress'),
        caps.providerAddressInDocument,
      );
      const host = body<{ IpConfigurations: { IpAddress: string }[] }>(
        writes.find((w) => w.op === 'createEndpoint' && body<{ Name: string }>(w).Name === 'flannel.4096_ep')!,
      );
      assert.deepEqual(host.IpConfigurations, [{ IpAddress: '10.244.1.2' }]);
      const vip = body<{ IpConfigurations: { IpAddress: string }[] }>(
        writes.find((w) => w.op === 'createEndpoint' && body<{ Name: string }>(w).Name === 'source_vip')!,
      );
      assert.deepEqual(vip.IpConfigurations, [{ IpAddress: '10.244.1.3' }]);
      const st = r.agent.status();
      assert.equal(st.ready, true, JSON.stringify(st.missing));
      assert.equal(st.sourceVip?.ip, '10.244.1.3');
      if (windows) {
        // The stub does not fill in DrMacAddress as HNS does: the agent says what that costs.
        assert.ok(
          st.problems.some((p) => /reports no DrMacAddress policy/.test(p)),
          st.problems.join('\n'),
        );
      } else {
        assert.match(st.vtepMac ?? '', /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      }
      // Both addresses are reserved in the store the CNI allocates from (host-local layout).
      const store = path.join(lab.dir, 'ipam', 'flannel.4096');
      assert.equal(fs.readFileSync(path.join(store, '10.244.1.2'), 'utf8'), 'switchyard-agent-host-endpoint\r\nagent');
      assert.equal(fs.readFileSync(path.join(store, '10.244.1.3'), 'utf8'), 'switchyard-agent-source-vip\r\nagent');
      const conf = JSON.parse(fs.readFileSync(path.join(lab.dir, 'net.d', '10-switchyard.conflist'), 'utf8'));
      assert.equal(conf.name, 'flannel.4096');
      assert.equal(conf.cniVersion, '1.1.0');
      assert.equal(conf.plugins[0].type, 'win-overlay');
      assert.equal(conf.plugins[0].ipam.dataDir, path.join(lab.dir, 'ipam'));
      assert.ok(fs.existsSync(path.join(lab.dir, 'bin', 'win-overlay')));
    });

    it('a restart adopts the network and endpoints: not one create, modify or delete', async () => {
      await lab.start(undefined, [peer(2)]);
      const m = lab.mark();
      const r = await lab.restart();
      assert.deepEqual(
        lab.writes(m).map((w) => w.op),
        [],
      );
      assert.deepEqual(r.boot.steps, []);
      assert.equal(r.agent.status().ready, true);
    });

    it('a peer joins: one RemoteSubnetRoute Add; it leaves: one Remove; nothing else', async () => {
      const r = await lab.start();
      let m = lab.mark();
      lab.source!.setPeers([peer(2)]);
      await r.agent.reconcileNow('test');
      let w = lab.writes(m);
      assert.deepEqual(
        w.map((x) => x.op),
        ['modifyNetwork'],
      );
      assert.deepEqual(
        w[0].body,
        networkPolicyRequest('Add', [
          {
            Type: 'RemoteSubnetRoute',
            Settings: {
              DestinationPrefix: '10.244.2.0/24',
              IsolationId: 4096,
              ProviderAddress: '192.168.0.11',
              DistributedRouterMacAddress: '00:15:5d:00:00:02',
            },
          },
        ]),
      );
      assert.deepEqual(
        r.agent.status().peers.map((p) => `${p.node} ${p.state}`),
        ['n2 programmed'],
      );
      m = lab.mark();
      lab.source!.setPeers([]);
      await r.agent.reconcileNow('test');
      w = lab.writes(m);
      assert.deepEqual(
        w.map((x) => `${x.op} ${(x.body as { RequestType: string }).RequestType}`),
        ['modifyNetwork Remove'],
      );
      const net = (await lab.svc!.listNetworks()).find((n) => n.Name === 'flannel.4096')!;
      assert.deepEqual(rsrs(net), []);
    });

    it('a burst of subnet-source changes is coalesced into one pass that programs them all', async () => {
      const r = await lab.start();
      const passes: string[][] = [];
      const done = new Promise<void>((resolve) =>
        r.agent.onReconcile((rep) => {
          passes.push(rep.steps);
          if (r.agent.status().peers.length === 3) resolve();
        }),
      );
      lab.source!.setPeers([peer(2)]);
      lab.source!.setPeers([peer(2), peer(3)]);
      lab.source!.setPeers([peer(2), peer(3), peer(4)]);
      await done;
      assert.equal(passes.length, 1, JSON.stringify(passes));
      assert.deepEqual(passes[0], [
        'modify Network/flannel.4096: RemoteSubnetRoute 10.244.2.0/24 missing; RemoteSubnetRoute 10.244.3.0/24 missing; RemoteSubnetRoute 10.244.4.0/24 missing',
      ]);
    });

    it('a RemoteSubnetRoute deleted out of band comes back on the next pass, counted as a drift repair', async () => {
      const r = await lab.start(undefined, [peer(2), peer(3)]);
      const net = (await lab.svc!.listNetworks()).find((n) => n.Name === 'flannel.4096')!;
      const gone = rsrs(net).find(
        (p) => (p.Settings as { DestinationPrefix: string }).DestinationPrefix === '10.244.3.0/24',
      ) as NetworkPolicy;
      await lab.svc!.modifyNetwork(net.ID!, networkPolicyRequest('Remove', [gone]));
      const m = lab.mark();
      const report = await r.agent.reconcileNow('periodic');
      assert.deepEqual(report.repairs, ['modify Network/flannel.4096: RemoteSubnetRoute 10.244.3.0/24 missing']);
      assert.deepEqual(
        lab.writes(m).map((x) => x.op),
        ['modifyNetwork'],
      );
      const after = (await lab.svc!.listNetworks()).find((n) => n.Name === 'flannel.4096')!;
      assert.deepEqual(
        rsrs(after)
          .map((p) => (p.Settings as { DestinationPrefix: string }).DestinationPrefix)
          .sort(),
        ['10.244.2.0/24', '10.244.3.0/24'],
      );
      const metrics = await r.metrics.registry.getSingleMetricAsString('switchyard_agent_drift_repairs_total');
      assert.match(metrics, /switchyard_agent_drift_repairs_total\{kind="RemoteSubnetRoute"\} 1/);
    });

    it('a peer with another VNI or backend type is refused loudly and not programmed at all', async () => {
      const m = lab.mark();
      const r = await lab.start(undefined, [
        peer(2, { vni: 1 }),
        peer(3, { backendType: 'host-gw', vni: undefined, vtepMac: undefined }),
        peer(4),
      ]);
      // Peers known at boot go into the network's create document; later ones are modifies.
      const sent = lab
        .writes(m)
        .flatMap((w) =>
          w.op === 'modifyNetwork'
            ? (w.body as { Settings: { Policies: NetworkPolicy[] } }).Settings.Policies
            : w.op === 'createNetwork'
              ? (body<HostComputeNetwork>(w).Policies ?? [])
              : [],
        );
      const routes = sent.filter((p) => p.Type === 'RemoteSubnetRoute');
      assert.deepEqual(
        routes.map((p) => (p.Settings as { DestinationPrefix: string }).DestinationPrefix),
        ['10.244.4.0/24'],
      );
      const st = r.agent.status();
      assert.deepEqual(
        st.peers.map((p) => `${p.node} ${p.state}`),
        ['n2 refused', 'n3 refused', 'n4 programmed'],
      );
      assert.ok(st.problems.includes("peer n2 refused: VNI 1 differs from this node's 4096"), st.problems.join('\n'));
      assert.ok(st.problems.includes("peer n3 refused: backend type host-gw differs from this node's vxlan"), st.problems.join('\n'));
      const text = await r.metrics.registry.getSingleMetricAsString('switchyard_agent_peer_refusals_total');
      assert.match(text, /node="n2"\} 1/);
      assert.match(await r.metrics.registry.getSingleMetricAsString('switchyard_agent_peers'), /state="refused"\} 2/);
    });

    it('host-gw: L2Bridge cbr0, host endpoint cbr0_ep at .2, no source VIP, peers as host routes via their address', async () => {
      const m = lab.mark();
      const cfg = lab.config(
        { cni: { confDir: path.join(lab.dir, 'net.d'), ipamDataDir: path.join(lab.dir, 'ipam'), binDir: '' } },
        HOSTGW_NETCONF,
      );
      const r = await lab.start(cfg, [peer(2, { backendType: 'host-gw', vni: undefined, vtepMac: undefined })]);
      const writes = lab.writes(m);
      const net = body<HostComputeNetwork>(writes.find((w) => w.op === 'createNetwork' && body<HostComputeNetwork>(w).Name === 'cbr0')!);
      assert.equal(net.Type, 'L2Bridge');
      // flannel's Windows host-gw: a route in the host's table (New-NetRoute), no network policy.
      assert.deepEqual(rsrs(net), []);
      assert.deepEqual(
        readCallLog(lab.callLog, m)
          .filter((c) => c.op === 'addHostRoute')
          .map((c) => c.body),
        [{ destinationPrefix: '10.244.2.0/24', nextHop: '192.168.0.11' }],
      );
      assert.deepEqual(
        (await lab.svc!.hostRoutes!.list()).map((x) => `${x.destinationPrefix} via ${x.nextHop}`),
        ['10.244.2.0/24 via 192.168.0.11'],
      );
      assert.deepEqual(
        writes.filter((w) => w.op === 'createEndpoint').map((w) => body<{ Name: string }>(w).Name),
        ['cbr0_ep'],
      );
      assert.equal(r.agent.status().ready, true);
      const conf = JSON.parse(fs.readFileSync(path.join(lab.dir, 'net.d', '10-switchyard.conflist'), 'utf8'));
      assert.equal(conf.plugins[0].type, 'win-bridge');
      assert.equal(conf.plugins[0].ipMasqNetwork, '10.244.0.0/16');
    });

    it('host-gw: a host route deleted out of band comes back (a repair); a peer that leaves has its route removed, a foreign route stays', async () => {
      const hg = (n: number) => peer(n, { backendType: 'host-gw', vni: undefined, vtepMac: undefined });
      const cfg = lab.config({ iface: 'Ethernet' }, HOSTGW_NETCONF);
      const r = await lab.start(cfg, [hg(2), hg(3)]);
      const routes = lab.svc!.hostRoutes!;
      const via = 'vEthernet (Ethernet)';
      const show = async () => (await routes.list()).map((x) => `${x.destinationPrefix} via ${x.nextHop} on ${x.interfaceAlias}`).sort();
      assert.deepEqual(await show(), [`10.244.2.0/24 via 192.168.0.11 on ${via}`, `10.244.3.0/24 via 192.168.0.12 on ${via}`]);
      await routes.add({ destinationPrefix: '172.16.0.0/16', nextHop: '192.168.0.1', interfaceAlias: via });
      await routes.delete({ destinationPrefix: '10.244.2.0/24', nextHop: '192.168.0.11', interfaceAlias: via });
      const m = lab.mark();
      const report = await r.agent.reconcileNow('periodic');
      assert.deepEqual(report.repairs, [`add host route 10.244.2.0/24 via 192.168.0.11 on "${via}": missing`]);
      assert.deepEqual(
        readCallLog(lab.callLog, m)
          .filter((c) => c.op === 'addHostRoute')
          .map((c) => c.body),
        [{ destinationPrefix: '10.244.2.0/24', nextHop: '192.168.0.11', interfaceAlias: via }],
      );
      lab.source!.setPeers([hg(2)]);
      const after = await r.agent.reconcileNow('peer left');
      assert.ok(after.steps.includes(`delete host route 10.244.3.0/24 via 192.168.0.12 on "${via}": peer gone`), after.steps.join('\n'));
      assert.deepEqual(await show(), [`10.244.2.0/24 via 192.168.0.11 on ${via}`, `172.16.0.0/16 via 192.168.0.1 on ${via}`]);
    });

    it('an existing network that differs is reported with what differs, never recreated; not ready', async () => {
      await lab.start();
      const other = lab.config({ podCIDR: '10.244.9.0/24' });
      const m = lab.mark();
      const r = await lab.restart(other);
      assert.deepEqual(
        lab
          .writes(m)
          .filter((w) => /Network$/.test(w.op))
          .map((w) => w.op),
        [],
      );
      const st = r.agent.status();
      assert.equal(st.ready, false);
      assert.ok(
        st.problems.some((p) =>
          /network flannel\.4096 \(.*\) exists and differs in Ipams \(it has subnet 10\.244\.1\.0\/24, this node's is 10\.244\.9\.0\/24\)/.test(
            p,
          ),
        ),
        st.problems.join('\n'),
      );
    });

    it('boot collects IPAM reservations whose endpoint is gone, and keeps live ones', async () => {
      const store = path.join(lab.dir, 'ipam', 'flannel.4096');
      fs.mkdirSync(store, { recursive: true });
      fs.writeFileSync(path.join(store, '10.244.1.50'), 'gone-container\r\neth0');
      const old = new Date(Date.now() - 3600_000);
      fs.utimesSync(path.join(store, '10.244.1.50'), old, old);
      fs.writeFileSync(path.join(store, '10.244.1.51'), 'just-allocating\r\neth0');
      // An ADD in flight holds its attachment's marker (the CNI invariant's test, not the file's age).
      const inflight = await new DiskStore(path.join(lab.dir, 'ipam'), 'flannel.4096').holdInflight('just-allocating', 'eth0');
      try {
        await lab.start();
      } finally {
        inflight.release();
      }
      assert.equal(fs.existsSync(path.join(store, '10.244.1.50')), false, 'stale reservation kept');
      assert.equal(fs.existsSync(path.join(store, '10.244.1.51')), true, 'a reservation of an ADD in flight was collected');
      assert.equal(fs.existsSync(path.join(store, '10.244.1.2')), true, "the host endpoint's own reservation was collected");
      assert.equal(fs.existsSync(path.join(store, '10.244.1.3')), true, "the source VIP's own reservation was collected");
    });

    it('a deleted host endpoint and a deleted CNI config come back; both counted as repairs', async () => {
      const r = await lab.start();
      const ep = (await lab.svc!.listEndpoints()).find((e) => e.Name === 'flannel.4096_ep')!;
      const hd = (await lab.svc!.listNamespaces()).find((n) => n.Type === 'HostDefault')!;
      await lab.svc!.detachEndpoint(hd.ID!, ep.ID!);
      await lab.svc!.deleteEndpoint(ep.ID!);
      fs.rmSync(path.join(lab.dir, 'net.d', '10-switchyard.conflist'));
      const report = await r.agent.reconcileNow('periodic');
      assert.deepEqual(
        report.repairs.map((s) => s.split(':')[0]),
        ['create Endpoint/flannel.4096_ep', 'write CNI config 10-switchyard.conflist'],
      );
      assert.ok(
        report.steps.some((s) => /^modify Namespace\/.*: endpoint flannel\.4096_ep not attached/.test(s)),
        report.steps.join('\n'),
      );
      assert.equal(r.agent.status().ready, true);
    });
  });
}
