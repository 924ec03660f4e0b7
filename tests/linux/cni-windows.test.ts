/**
 * The drop-in `win-bridge` and `win-overlay` executables (apiVersion 2) on Linux with the linux data plane:
 * CNI_NETNS is the pod's netns path and CNI_IFNAME the interface created in it. ADD gives a working
 * interface and the reference-shaped result (interface named after the endpoint, no sandbox, one address
 * with the gateway); CHECK notices a removed address; DEL removes everything and a repeated DEL succeeds;
 * apiVersion 1 is refused with a CNI error that says what to change. win-bridge's `.2` gateway is a host
 * endpoint (the bridge holds `.1`): without one the ADD fails saying so; with one pods reach the node and
 * the other node through it.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { NetnsLab } from '../../src/lab/netns-driver';
import type { HostNetworkService } from '../../src/dataplane/types';
import { canRunNetns, uniquePrefix } from './helpers/lab';
import { haveCniBin, hostLocalIpam, reservations, runCni } from './helpers/cni';

describe('linux data plane: win-bridge and win-overlay (apiVersion 2) executables', function () {
  let lab: NetnsLab;
  let dataDir: string;
  let dp: HostNetworkService;
  let winbrId = '';
  const node = () => lab.plan.nodes[0];
  const other = () => lab.plan.nodes[1];

  before(async function () {
    if (!canRunNetns() || !haveCniBin()) this.skip();
    lab = new NetnsLab({ prefix: uniquePrefix('syw'), nodes: 2, podsPerNode: 0, type: 'L2Bridge' });
    try {
      lab.underlay();
      dp = await lab.openNode(node());
      const uplink = [{ Type: 'NetAdapterName' as const, Settings: { NetworkAdapterName: 'eth0' } }];
      // As flannel's cbr0: the bridge holds .1; win-bridge's gateway (.2) is a host endpoint, made in the test.
      winbrId = (
        await dp.createNetwork({
          Name: 'winbr',
          Type: 'L2Bridge',
          Policies: uplink,
          Ipams: [
            {
              Type: 'Static',
              Subnets: [{ IpAddressPrefix: '10.250.1.0/24', Routes: [{ NextHop: '10.250.1.1', DestinationPrefix: '0.0.0.0/0' }] }],
            },
          ],
        })
      ).ID!;
      // The other node routes the pod subnet back through this node (host-gw).
      lab.exec(lab.plan.nodes[1].name, ['ip', 'route', 'add', '10.250.1.0/24', 'via', node().underlayIp]);
      await dp.createNetwork({
        Name: 'winovl',
        Type: 'Overlay',
        Policies: [...uplink, { Type: 'ProviderAddress', Settings: { ProviderAddress: node().underlayIp } }],
        Ipams: [
          {
            Type: 'Static',
            Subnets: [
              {
                IpAddressPrefix: '10.250.2.0/24',
                Routes: [{ NextHop: '10.250.2.1', DestinationPrefix: '0.0.0.0/0' }],
                Policies: [{ Type: 'VSID', Settings: { IsolationId: 4097 } }],
              },
            ],
          },
        ],
      });
    } catch (e) {
      await dp?.close();
      await lab.down();
      throw e;
    }
    dataDir = path.join(lab.stateDir, 'ipam');
  });
  after(async () => {
    await dp?.close();
    await lab?.down();
  });

  const cases = [
    {
      plugin: 'win-bridge',
      network: 'winbr',
      gateway: '10.250.1.2',
      prefix: 24,
      mac: undefined as RegExp | undefined,
      hostEndpoint: true,
      // Debian's reference host-local as the delegated IPAM (it speaks CNI up to 1.0.0).
      conf: () => ({
        cniVersion: '1.0.0',
        name: 'winbr',
        type: 'win-bridge',
        apiVersion: 2,
        ipam: { type: hostLocalIpam(), subnet: '10.250.1.0/24', rangeStart: '10.250.1.10', dataDir },
        dns: { nameservers: ['10.96.0.10'] },
      }),
    },
    {
      plugin: 'win-overlay',
      network: 'winovl',
      gateway: '10.250.2.1',
      prefix: 24,
      mac: /^0E-2A-0a-fa-02-0a$/,
      hostEndpoint: false,
      conf: () => ({
        cniVersion: '1.0.0',
        name: 'winovl',
        type: 'win-overlay',
        apiVersion: 2,
        ipam: { type: 'switchyard-ipam', subnet: '10.250.2.0/24', rangeStart: '10.250.2.10', dataDir },
        dns: { nameservers: ['10.96.0.10'] },
      }),
    },
  ];

  for (const c of cases) {
    describe(c.plugin, function () {
      const pods: { id: string; ns: string; ip: string; result: Record<string, unknown> }[] = [];
      const linksOnNode = () => (lab.exec(node().name, ['ip', '-o', 'link', 'show']).match(/syv[0-9a-f]{10}@/g) ?? []).length;
      let before = 0;

      if (c.hostEndpoint) {
        it('ADD without a host endpoint at the .2 gateway fails saying what is missing and how to fix it, leaving nothing', async () => {
          before = linksOnNode();
          const nsp = lab.addNetns(`${lab.plan.spec.prefix}-${c.network}gw`);
          const r = runCni(lab, node(), c.plugin, 'ADD', c.conf(), {
            containerId: `gw${lab.plan.spec.prefix}`,
            netns: nsp,
            ifName: 'net1',
          });
          assert.equal(r.code, 1);
          const err = JSON.parse(r.out) as { code: number; msg: string; details: string };
          assert.equal(err.code, 11);
          assert.match(err.msg, /network winbr has no host endpoint at 10\.250\.1\.2/);
          assert.match(err.details, /switchyard agent|endpoint create --network winbr --name winbr_ep --ip 10\.250\.1\.2 --host/);
          assert.equal(linksOnNode(), before);
          assert.deepEqual(
            (await dp.listEndpoints()).filter((e) => e.Name?.endsWith(`_${c.network}`)),
            [],
          );
          assert.deepEqual(reservations(dataDir, c.network), []);
        });

        it('a host endpoint at .2 puts the address on the bridge (HostDefault namespace)', async () => {
          const host = (await dp.listNamespaces()).find((n) => n.Type === 'HostDefault');
          assert.ok(host, 'the linux plane lists its HostDefault namespace');
          const ep = await dp.createEndpoint(winbrId, { Name: 'winbr_ep', IpConfigurations: [{ IpAddress: '10.250.1.2' }] });
          await dp.attachEndpoint(host.ID!, ep.ID!);
          assert.match(lab.exec(node().name, ['ip', '-o', '-4', 'addr', 'show']), /inet 10\.250\.1\.2\/24 .*scope global/);
          assert.equal((await dp.getEndpoint(ep.ID!)).HostComputeNamespace, host.ID);
        });
      }

      it('ADD puts CNI_IFNAME in CNI_NETNS with the address, returns the reference-shaped result, pods reach the gateway and each other', () => {
        before = linksOnNode();
        for (const i of [0, 1]) {
          const ns = `${lab.plan.spec.prefix}-${c.network}${i}`;
          const nsp = lab.addNetns(ns);
          const id = `${c.network}${i}${lab.plan.spec.prefix}`;
          const r = runCni(lab, node(), c.plugin, 'ADD', c.conf(), { containerId: id, netns: nsp, ifName: 'net1' });
          assert.equal(r.code, 0, r.out + r.err);
          const res = JSON.parse(r.out) as {
            cniVersion: string;
            interfaces: { name: string; mac?: string; sandbox?: string }[];
            ips: { address: string; gateway: string; interface?: number }[];
            dns: { nameservers: string[] };
          };
          // The reference result: one interface named after the HNS endpoint (no sandbox), one IP without an interface index.
          assert.equal(res.cniVersion, '1.0.0');
          assert.deepEqual(
            res.interfaces.map((x) => x.name),
            [`${id}_${c.network}`],
          );
          assert.equal(res.interfaces[0].sandbox, undefined);
          if (c.mac && i === 0) assert.match(res.interfaces[0].mac ?? '', c.mac);
          assert.equal(res.ips.length, 1);
          assert.equal(res.ips[0].gateway, c.gateway);
          assert.equal(res.ips[0].interface, undefined);
          assert.deepEqual(res.dns.nameservers, ['10.96.0.10']);
          const ip = res.ips[0].address.split('/')[0];
          assert.equal(res.ips[0].address, `${ip}/${c.prefix}`);
          assert.match(
            lab.exec(ns, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'net1']),
            new RegExp(`inet ${ip.replace(/\./g, '\\.')}/${c.prefix}`),
          );
          assert.match(
            lab.exec(ns, ['ip', 'route', 'show', 'default']),
            new RegExp(`default via ${c.gateway.replace(/\./g, '\\.')} dev net1`),
          );
          assert.ok(lab.ok(ns, ['ping', '-c', '1', '-W', '2', c.gateway]), 'the pod reaches its gateway');
          pods.push({ id, ns, ip, result: res });
        }
        assert.ok(lab.ok(pods[0].ns, ['ping', '-c', '1', '-W', '2', pods[1].ip]), 'pod ↔ pod');
        if (c.hostEndpoint) {
          assert.ok(lab.ok(pods[0].ns, ['ping', '-c', '1', '-W', '2', node().underlayIp]), 'the pod reaches its node through .2');
          assert.ok(lab.ok(pods[0].ns, ['ping', '-c', '1', '-W', '2', other().underlayIp]), 'the pod reaches the other node through .2');
        }
        assert.equal(linksOnNode(), before + 2);
      });

      it('CHECK passes, then detects a removed address', () => {
        const p = pods[0];
        const check = () =>
          runCni(
            lab,
            node(),
            c.plugin,
            'CHECK',
            { ...c.conf(), prevResult: p.result },
            { containerId: p.id, netns: `/var/run/netns/${p.ns}`, ifName: 'net1' },
          );
        const ok = check();
        assert.equal(ok.code, 0, ok.out + ok.err);
        lab.exec(p.ns, ['ip', 'addr', 'del', `${p.ip}/${c.prefix}`, 'dev', 'net1']);
        const bad = check();
        assert.notEqual(bad.code, 0);
        assert.match(bad.out, new RegExp(`has address none, prevResult has ${p.ip.replace(/\./g, '\\.')}`));
      });

      it('DEL removes the interface, the host veth, the endpoint and the reservation; a repeated DEL succeeds', async () => {
        for (const p of pods) {
          const del = () =>
            runCni(lab, node(), c.plugin, 'DEL', c.conf(), { containerId: p.id, netns: `/var/run/netns/${p.ns}`, ifName: 'net1' });
          const r = del();
          assert.equal(r.code, 0, r.out + r.err);
          assert.doesNotMatch(lab.exec(p.ns, ['ip', '-o', 'link', 'show']), /net1/);
          assert.equal(del().code, 0, 'a second DEL');
        }
        assert.equal(linksOnNode(), before);
        assert.deepEqual(
          (await dp.listEndpoints()).filter((e) => e.Name?.endsWith(`_${c.network}`)),
          [],
        );
        assert.deepEqual(reservations(dataDir, c.network), []);
      });

      it('apiVersion 1 is refused on the linux data plane with a CNI error naming the fix, creating nothing', async () => {
        const ns = lab.addNetns(`${lab.plan.spec.prefix}-${c.network}v1`);
        const r = runCni(
          lab,
          node(),
          c.plugin,
          'ADD',
          { ...c.conf(), apiVersion: 1 },
          { containerId: `v1${lab.plan.spec.prefix}`, netns: ns, ifName: 'net1' },
        );
        assert.equal(r.code, 1);
        const err = JSON.parse(r.out) as { code: number; msg: string; details: string };
        assert.equal(err.code, 7);
        assert.equal(err.msg, `${c.plugin}: apiVersion 1 (HNS v1) is not supported by the linux data plane`);
        assert.match(err.details, /set "apiVersion": 2/);
        assert.equal(linksOnNode(), before);
        assert.deepEqual(
          (await dp.listEndpoints()).filter((e) => e.Name?.endsWith(`_${c.network}`)),
          [],
        );
        assert.deepEqual(reservations(dataDir, c.network), []);
      });
    });
  }
});
