/**
 * A CNI ADD (switchyard l2bridge and transparent, win-bridge apiVersion 2) killed (SIGKILL) at each crash point of the linux data plane — after the IPAM reservation,
 * after the endpoint was recorded, after the links exist — leaves nothing that the next plugin process
 * (restart: reconcile on open) plus CNI GC (cniVersion 1.1.0, the container not in
 * cni.dev/valid-attachments) does not remove: no link in the node or pod namespace, no endpoint, no IPAM
 * reservation, no nft rule for its address; and the next ADD for a new container succeeds with nothing stale.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { NetnsLab } from '../../src/lab/netns-driver';
import type { HostNetworkService } from '../../src/dataplane/types';
import { canRunNetns, uniquePrefix } from './helpers/lab';
import { haveCniBin, reservations, runCni } from './helpers/cni';

const FAILPOINTS = ['linux.endpoint.before-create', 'linux.endpoint.after-create', 'linux.attach.after-links'];

describe('linux data plane: CNI ADD killed mid-way, then restart + GC', function () {
  let lab: NetnsLab;
  let dataDir: string;
  let dp: HostNetworkService;
  const node = () => lab.plan.nodes[0];

  before(async function () {
    if (!canRunNetns() || !haveCniBin()) this.skip();
    lab = new NetnsLab({ prefix: uniquePrefix('syk'), nodes: 1, podsPerNode: 0, type: 'L2Bridge' });
    try {
      lab.underlay();
      await lab.network();
      dp = lab.runtimes[0].dp;
      // win-bridge finds its HNS network by the CNI network name; its gateway is network + 2.
      await dp.createNetwork({
        Name: 'winbr',
        Type: 'L2Bridge',
        Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'eth0' } }],
        Ipams: [
          {
            Type: 'Static',
            Subnets: [{ IpAddressPrefix: '10.250.1.0/24', Routes: [{ NextHop: '10.250.1.2', DestinationPrefix: '0.0.0.0/0' }] }],
          },
        ],
      });
      // Transparent: the pod link is a macvlan created inside the pod namespace (recorded as "attaching" first).
      await dp.createNetwork({
        Name: 'transp',
        Type: 'Transparent',
        Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'eth0' } }],
        Ipams: [
          {
            Type: 'Static',
            Subnets: [{ IpAddressPrefix: '192.168.77.0/24', Routes: [{ NextHop: '192.168.77.1', DestinationPrefix: '0.0.0.0/0' }] }],
          },
        ],
      });
    } catch (e) {
      await lab.down();
      throw e;
    }
    dataDir = path.join(lab.stateDir, 'ipam');
  });
  after(async () => lab?.down());

  const plugins = [
    {
      plugin: 'switchyard',
      network: 'pods',
      hostVeth: true,
      conf: (extra: object = {}) => ({
        cniVersion: '1.1.0',
        name: 'pods',
        type: 'switchyard',
        mode: 'l2bridge',
        network: `${lab.plan.spec.prefix}-l2bridge`,
        ipMasq: true,
        ipam: { type: 'switchyard-ipam', subnet: node().podSubnet, rangeStart: node().podSubnet.replace(/0\/24$/, '10'), dataDir },
        ...extra,
      }),
    },
    {
      plugin: 'switchyard',
      network: 'transp',
      hostVeth: false,
      conf: (extra: object = {}) => ({
        cniVersion: '1.1.0',
        name: 'transp',
        type: 'switchyard',
        mode: 'transparent',
        ipMasq: true,
        ipam: { type: 'switchyard-ipam', subnet: '192.168.77.0/24', rangeStart: '192.168.77.50', dataDir },
        ...extra,
      }),
    },
    {
      plugin: 'win-bridge',
      network: 'winbr',
      hostVeth: true,
      conf: (extra: object = {}) => ({
        cniVersion: '1.1.0',
        name: 'winbr',
        type: 'win-bridge',
        apiVersion: 2,
        ipMasqNetwork: '10.250.0.0/16',
        ipam: { type: 'switchyard-ipam', subnet: '10.250.1.0/24', rangeStart: '10.250.1.10', dataDir },
        ...extra,
      }),
    },
  ];

  const nodeLinks = () => lab.exec(node().name, ['ip', '-o', 'link', 'show']);
  const vethCount = () => (nodeLinks().match(/syv[0-9a-f]{10}@/g) ?? []).length;

  for (const p of plugins) {
    for (const fp of FAILPOINTS) {
      it(`${p.plugin} (${p.network}): killed at ${fp}, then GC removes link, endpoint, reservation and rules; a new ADD works`, async () => {
        const tag = `${p.network.slice(0, 2)}${FAILPOINTS.indexOf(fp)}`;
        const victimNs = lab.addNetns(`${lab.plan.spec.prefix}-v${tag}`);
        const victim = `victim${tag}${lab.plan.spec.prefix}`;
        const vethsBefore = vethCount();
        const killed = runCni(lab, node(), p.plugin, 'ADD', p.conf(), {
          containerId: victim,
          netns: victimNs,
          env: { SWITCHYARD_FAILPOINT: fp },
        });
        assert.equal(killed.signal, 'SIGKILL', `the failpoint fired: ${killed.out}${killed.err}`);
        const [reserved] = reservations(dataDir, p.network);
        assert.ok(reserved, 'the kill left an IPAM reservation behind');
        // The OutBoundNAT policy (ipMasq / ipMasqNetwork) puts a masquerade rule for the address in the node's nft table.
        const ruleFor = new RegExp(`ip saddr ${reserved.replace(/\./g, '\\.')} `);
        if (fp !== 'linux.endpoint.before-create')
          assert.match(lab.exec(node().name, ['nft', 'list', 'ruleset']), ruleFor, 'the recorded endpoint has its nft rule');
        if (fp === 'linux.attach.after-links') {
          assert.equal(vethCount(), vethsBefore + (p.hostVeth ? 1 : 0), 'the kill left a host veth behind');
          assert.match(lab.exec(path.basename(victimNs), ['ip', '-o', 'link', 'show']), /eth0@/);
        }

        // GC as the runtime sends it after a restart: the killed container is not a valid attachment.
        const gc = runCni(lab, node(), p.plugin, 'GC', p.conf({ 'cni.dev/valid-attachments': [] }));
        assert.equal(gc.code, 0, gc.out + gc.err);
        assert.equal(vethCount(), vethsBefore, 'no host veth left');
        assert.doesNotMatch(
          lab.exec(path.basename(victimNs), ['ip', '-o', 'link', 'show']),
          /eth0/,
          'no interface left in the pod namespace',
        );
        assert.deepEqual(reservations(dataDir, p.network), [], 'no IPAM reservation left');
        assert.deepEqual(
          (await dp.listEndpoints()).filter((e) => e.Name?.startsWith(victim)),
          [],
          'no endpoint left',
        );
        assert.doesNotMatch(lab.exec(node().name, ['nft', 'list', 'ruleset']), ruleFor, 'no nft rule for the address');

        // The next pod gets a fresh, working attachment (the address may be reused: nothing holds it).
        const podNs = lab.addNetns(`${lab.plan.spec.prefix}-n${tag}`);
        const next = `next${tag}${lab.plan.spec.prefix}`;
        const add = runCni(lab, node(), p.plugin, 'ADD', p.conf(), { containerId: next, netns: podNs });
        assert.equal(add.code, 0, add.out + add.err);
        const res = JSON.parse(add.out) as { ips: { address: string; gateway?: string }[] };
        assert.equal(vethCount(), vethsBefore + (p.hostVeth ? 1 : 0));
        assert.match(
          lab.exec(path.basename(podNs), ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']),
          new RegExp(`inet ${res.ips[0].address.replace(/\./g, '\\.')}`),
        );
        assert.deepEqual(
          (await dp.listEndpoints()).filter((e) => e.Name?.endsWith(`_${p.network}`)).map((e) => e.Name),
          [`${next}_${p.network}`],
          'only the new endpoint exists',
        );
        assert.deepEqual(reservations(dataDir, p.network), [res.ips[0].address.split('/')[0]], "one reservation, the new pod's");
        // (A Transparent network's gateway is a router on the uplink, which this lab does not have.)
        if (p.hostVeth)
          assert.ok(lab.ok(path.basename(podNs), ['ping', '-c', '1', '-W', '2', res.ips[0].gateway!]), 'the new pod reaches its gateway');
        assert.equal(runCni(lab, node(), p.plugin, 'DEL', p.conf(), { containerId: next, netns: podNs }).code, 0);
        assert.equal(vethCount(), vethsBefore);
        assert.deepEqual(reservations(dataDir, p.network), []);
      });
    }
  }
});
