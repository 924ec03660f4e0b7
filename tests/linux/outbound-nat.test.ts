/**
 * OutBoundNAT as the shipped manifests produce it (one policy per exception CIDR, as the reference and the
 * switchyard type emit them, plus the loopback-DSR policy with Destinations), seen on the wire in a 2-node
 * L2Bridge lab: pod → remote pod keeps the pod's source address; pod → outside the cluster leaves with the
 * node's address. Packets are captured with tcpdump in the receiving namespace.
 */
import * as assert from 'node:assert/strict';
import { NetnsLab } from '../../src/lab/netns-driver';
import type { EndpointPolicy } from '../../src/hns';
import { canRunNetns, capture, uniquePrefix } from './helpers/lab';

describe('linux data plane: OutBoundNAT on the wire (exceptions are a union; Destinations only for those)', function () {
  let lab: NetnsLab;
  let outside: string;
  const policies = (pod: { ip: string }): EndpointPolicy[] => [
    { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16'] } },
    { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12'] } },
    { Type: 'OutBoundNAT', Settings: { Destinations: [pod.ip] } },
  ];

  before(async function () {
    if (!canRunNetns()) this.skip();
    lab = new NetnsLab({ prefix: uniquePrefix('syo'), nodes: 2, podsPerNode: 1, type: 'L2Bridge' });
    try {
      lab.underlay();
      ({ outside } = lab.external());
      await lab.network();
      await lab.pods(policies);
    } catch (e) {
      await lab.down();
      throw e;
    }
  });
  after(async () => {
    await lab?.down();
  });

  const pod = (n: number) => lab.plan.nodes[n].pods[0];
  /** Source addresses of the ICMP echo requests tcpdump printed ("IP <src> > <dst>: ICMP echo request"). */
  const sources = (text: string) => [...text.matchAll(/IP (\d+\.\d+\.\d+\.\d+) > \S+: ICMP echo request/g)].map((m) => m[1]);

  it('pod → pod on another node arrives from the pod address', async () => {
    const text = await capture(pod(1).name, 'eth0', ['icmp', 'and', 'icmp[icmptype] == icmp-echo'], 1, () => {
      assert.ok(lab.ok(pod(0).name, ['ping', '-c', '1', '-W', '2', pod(1).ip]));
    });
    assert.deepEqual(sources(text), [pod(0).ip]);
  });

  it('pod → outside the cluster arrives from the node address', async () => {
    const text = await capture(
      lab.plan.switchNs,
      'underlay',
      ['icmp', 'and', 'icmp[icmptype] == icmp-echo', 'and', 'dst', 'host', outside],
      1,
      () => {
        assert.ok(lab.ok(pod(0).name, ['ping', '-c', '1', '-W', '2', outside]));
      },
    );
    assert.deepEqual(sources(text), [lab.plan.nodes[0].underlayIp]);
  });

  it('the rendered postrouting rules: one masquerade with the union of exceptions, one for the Destinations only', () => {
    const text = lab.exec(lab.plan.nodes[0].name, ['nft', 'list', 'table', 'inet', 'switchyard']);
    const ip = pod(0).ip.replace(/\./g, '\\.');
    assert.match(
      text,
      new RegExp(`ip saddr ${ip} ip daddr != \\{ 10\\.96\\.0\\.0/12, 10\\.244\\.0\\.0/16 \\} oifname != "syb[0-9a-f]+" masquerade`),
    );
    assert.match(text, new RegExp(`ip saddr ${ip} ip daddr ${ip} masquerade`));
    assert.equal((text.match(new RegExp(`ip saddr ${ip} `, 'g')) ?? []).length, 2);
  });
});
