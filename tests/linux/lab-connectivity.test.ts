/**
 * Real packets between pods realized by the linux data plane, in a network-namespace lab: 2 nodes × 2 pods
 * over L2Bridge (host-gw routes via node addresses) and over Overlay (VXLAN VNI 4096, UDP 4789).
 */
import * as assert from 'node:assert/strict';
import { NetnsLab } from '../../src/lab/netns-driver';
import { canRunNetns, capture, uniquePrefix } from './helpers/lab';

const ping = (lab: NetnsLab, ns: string, ip: string, extra: string[] = []) => lab.ok(ns, ['ping', '-c', '1', '-W', '2', ...extra, ip]);

describe('linux data plane: L2Bridge lab (host-gw)', function () {
  let lab: NetnsLab;
  before(async function () {
    if (!canRunNetns()) this.skip();
    lab = new NetnsLab({ prefix: uniquePrefix('syl'), nodes: 2, podsPerNode: 2, type: 'L2Bridge' });
    await lab.up();
  });
  after(async () => lab?.down());

  it('pod ↔ pod on one node crosses the bridge', () => {
    const [a, b] = lab.plan.nodes[0].pods;
    assert.ok(ping(lab, a.name, b.ip), `${a.ip} → ${b.ip}`);
    assert.ok(ping(lab, b.name, a.ip), `${b.ip} → ${a.ip}`);
  });

  it('pod ↔ pod across nodes follows the peer route via the node address', () => {
    const a = lab.plan.nodes[0].pods[0];
    const b = lab.plan.nodes[1].pods[1];
    assert.ok(ping(lab, a.name, b.ip));
    assert.ok(ping(lab, b.name, a.ip));
    const routes = lab.exec(lab.plan.nodes[0].name, ['ip', '-4', 'route', 'show', lab.plan.nodes[1].podSubnet]);
    assert.match(routes, new RegExp(`via ${lab.plan.nodes[1].underlayIp.replace(/\./g, '\\.')}`));
  });

  it('the pod interface is eth0 with the endpoint address, MAC and default route via the gateway', () => {
    const pod = lab.plan.nodes[0].pods[0];
    const link = lab.exec(pod.name, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    assert.match(link, new RegExp(`inet ${pod.ip.replace(/\./g, '\\.')}/24`));
    assert.match(lab.exec(pod.name, ['ip', 'link', 'show', 'eth0']), /link\/ether 0e:2a:0a:f4:01:0a/);
    assert.match(
      lab.exec(pod.name, ['ip', '-4', 'route', 'show', 'default']),
      new RegExp(`default via ${lab.plan.nodes[0].gateway.replace(/\./g, '\\.')} dev eth0`),
    );
  });
});

describe('linux data plane: Overlay lab (VXLAN)', function () {
  let lab: NetnsLab;
  before(async function () {
    if (!canRunNetns()) this.skip();
    lab = new NetnsLab({ prefix: uniquePrefix('syo'), nodes: 2, podsPerNode: 2, type: 'Overlay' });
    await lab.up();
  });
  after(async () => lab?.down());

  it('pod ↔ pod across nodes; the underlay carries UDP 4789 with VNI 4096 and pod addresses only inside', async () => {
    const a = lab.plan.nodes[0].pods[0];
    const b = lab.plan.nodes[1].pods[0];
    assert.ok(ping(lab, a.name, b.ip), 'warm-up ping across the overlay');
    const text = await capture(lab.plan.switchNs, 'underlay', ['ip'], 2, () => {
      assert.ok(ping(lab, a.name, b.ip));
    });
    const lines = text.trim().split('\n').filter(Boolean);
    assert.ok(lines.length >= 2, `captured:\n${text}`);
    const [n0, n1] = lab.plan.nodes.map((n) => n.underlayIp.replace(/\./g, '\\.'));
    const pa = a.ip.replace(/\./g, '\\.');
    const pb = b.ip.replace(/\./g, '\\.');
    assert.match(
      text,
      new RegExp(`IP ${n0}\\.\\d+ > ${n1}\\.4789: VXLAN, flags \\[I\\] \\(0x08\\), vni 4096\\s*\\n?.*IP ${pa} > ${pb}: ICMP echo request`),
    );
    assert.match(
      text,
      new RegExp(`IP ${n1}\\.\\d+ > ${n0}\\.4789: VXLAN, flags \\[I\\] \\(0x08\\), vni 4096\\s*\\n?.*IP ${pb} > ${pa}: ICMP echo reply`),
    );
    // Every outer header on the wire is node to node: pod addresses never appear outside the tunnel.
    for (const l of lines.filter((x) => /^\d/.test(x)))
      assert.match(l, new RegExp(`IP (${n0}|${n1})\\.\\d+ > (${n0}|${n1})\\.4789: VXLAN`), l);
  });

  it('pods on one node still reach each other through the bridge', () => {
    const [a, b] = lab.plan.nodes[1].pods;
    assert.ok(ping(lab, a.name, b.ip));
  });

  it("MTU: a 1400-byte don't-fragment ping crosses the overlay, a 1451-byte one does not", () => {
    const a = lab.plan.nodes[0].pods[1];
    const b = lab.plan.nodes[1].pods[1];
    // -s is the ICMP payload: +28 bytes of IP and ICMP headers.
    assert.ok(ping(lab, a.name, b.ip, ['-M', 'do', '-s', String(1400 - 28)]));
    assert.ok(ping(lab, a.name, b.ip, ['-M', 'do', '-s', String(1450 - 28)]), 'exactly the pod MTU fits');
    assert.equal(ping(lab, a.name, b.ip, ['-M', 'do', '-s', String(1451 - 28)]), false);
    assert.match(lab.exec(a.name, ['ip', 'link', 'show', 'eth0']), /mtu 1450/);
  });

  it('the vxlan device, neighbour and fdb follow the flannel format', () => {
    const n0 = lab.plan.nodes[0];
    const n1 = lab.plan.nodes[1];
    const peerMac = lab.runtimes[1].drMac!.replace(/-/g, ':').toLowerCase();
    const detail = lab.exec(n0.name, ['ip', '-d', 'link', 'show', 'type', 'vxlan']);
    assert.match(detail, /vxlan id 4096 local 192\.168\.77\.10 .*dstport 4789 nolearning/);
    const route = lab.exec(n0.name, ['ip', '-4', 'route', 'show', n1.podSubnet]);
    assert.match(route, /10\.244\.2\.0\/24 via 10\.244\.2\.0 dev syx[0-9a-f]{10} .*onlink/);
    assert.match(lab.exec(n0.name, ['ip', 'neigh', 'show', '10.244.2.0']), new RegExp(`lladdr ${peerMac} PERMANENT`));
    assert.match(
      lab.exec(n0.name, ['bridge', 'fdb', 'show']),
      new RegExp(`${peerMac} dev syx[0-9a-f]{10} dst 192\\.168\\.77\\.11 self permanent`),
    );
  });
});
