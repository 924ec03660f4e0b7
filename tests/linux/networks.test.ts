/**
 * The network types beyond L2Bridge/Overlay: NAT (bridge + masquerade of the whole subnet) and Transparent
 * (pods as macvlans on the node's uplink, on the underlay's own subnet).
 */
import * as assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { NetnsLab, nsPath } from '../../src/lab/netns-driver';
import { canRunNetns, get, serve, uniquePrefix } from './helpers/lab';

describe('linux data plane: NAT and Transparent networks', function () {
  let lab: NetnsLab;
  let outside: string;
  let server: ChildProcess | undefined;

  before(async function () {
    if (!canRunNetns()) this.skip();
    lab = new NetnsLab({ prefix: uniquePrefix('syn'), nodes: 1, podsPerNode: 0, type: 'L2Bridge' });
    try {
      lab.underlay();
      ({ outside } = lab.external());
      server = await serve(lab.plan.switchNs, 8080, 'outside');
    } catch (e) {
      await lab.down();
      throw e;
    }
  });
  after(async () => {
    server?.kill();
    await lab?.down();
  });

  it('NAT: pods behind the bridge reach the outside masqueraded to the node address', async () => {
    const node = lab.plan.nodes[0];
    const dp = await lab.openNode(node);
    try {
      const net = await dp.createNetwork({ Name: 'nat', Type: 'NAT', Ipams: [{ Subnets: [{ IpAddressPrefix: '172.31.5.0/24' }] }] });
      const ns = `${lab.plan.spec.prefix}-natpod`;
      lab.addNetns(ns);
      const ep = await dp.createEndpoint(net.ID!, {});
      assert.equal(ep.IpConfigurations?.[0]?.IpAddress, '172.31.5.2', 'first free address after the gateway');
      await dp.attachEndpoint(nsPath(ns), ep.ID!);
      assert.equal(get(ns, outside, 8080), `outside ${node.underlayIp}`);
      // As HNS: a network with endpoints is refused and left whole; endpoints go first.
      await assert.rejects(
        dp.deleteNetwork(net.ID!),
        (e: Error & { hresult?: number }) => e.hresult === 0x803b002c && /1 endpoint\(s\) still on network nat/.test(e.message),
      );
      assert.equal(get(ns, outside, 8080), `outside ${node.underlayIp}`, 'the refused delete changed nothing');
      await dp.deleteEndpoint(ep.ID!);
      await dp.deleteNetwork(net.ID!);
      assert.doesNotMatch(lab.exec(node.name, ['ip', '-o', 'link', 'show']), /sy[bv][0-9a-f]{10}/);
      assert.doesNotMatch(lab.exec(ns, ['ip', '-o', 'link', 'show']), /eth0/);
    } finally {
      await dp.close();
    }
  });

  it('Transparent: pods are macvlans on the uplink with addresses on the underlay subnet', async () => {
    const node = lab.plan.nodes[0];
    const dp = await lab.openNode(node);
    try {
      const net = await dp.createNetwork({
        Name: 'transparent',
        Type: 'Transparent',
        Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'eth0' } }],
        Ipams: [
          { Subnets: [{ IpAddressPrefix: '192.168.77.0/24', Routes: [{ NextHop: '192.168.77.1', DestinationPrefix: '0.0.0.0/0' }] }] },
        ],
      });
      const pods = [`${lab.plan.spec.prefix}-tp0`, `${lab.plan.spec.prefix}-tp1`];
      const ips = ['192.168.77.50', '192.168.77.51'];
      for (const [i, ns] of pods.entries()) {
        lab.addNetns(ns);
        const ep = await dp.createEndpoint(net.ID!, { IpConfigurations: [{ IpAddress: ips[i], PrefixLength: 24 }] });
        await dp.attachEndpoint(nsPath(ns), ep.ID!);
        assert.match(lab.exec(ns, ['ip', '-d', 'link', 'show', 'eth0']), /macvlan mode bridge/);
      }
      assert.ok(lab.ok(pods[0], ['ping', '-c', '1', '-W', '2', ips[1]]), 'pod ↔ pod on the uplink');
      assert.equal(get(pods[0], outside, 8080), `outside ${ips[0]}`, 'the router on the underlay sees the pod address itself');
      for (const ep of await dp.listEndpoints()) await dp.deleteEndpoint(ep.ID!);
      for (const ns of pods) assert.doesNotMatch(lab.exec(ns, ['ip', '-o', 'link', 'show']), /eth0/);
      await dp.deleteNetwork(net.ID!);
    } finally {
      await dp.close();
    }
  });
});
