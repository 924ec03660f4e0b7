/**
 * Endpoint and load-balancer policies realized with nftables, observed with real connections in a
 * 2-node L2Bridge lab: OutBoundNAT with exceptions, PortMapping (from outside and from the node itself),
 * a VIP spreading over backends on two nodes, a node-port frontend, ACL block/allow and QOS.
 */
import * as assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { NetnsLab } from '../../src/lab/netns-driver';
import { EndpointFlags, type EndpointPolicy } from '../../src/hns';
import { canRunNetns, get, serve, uniquePrefix } from './helpers/lab';

describe('linux data plane: policies (nftables) in an L2Bridge lab', function () {
  let lab: NetnsLab;
  let ids: Map<string, string>;
  let outside: string;
  const servers: ChildProcess[] = [];
  const outboundNat: EndpointPolicy = { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16', '192.168.77.0/24'] } };

  before(async function () {
    if (!canRunNetns()) this.skip();
    lab = new NetnsLab({ prefix: uniquePrefix('syp'), nodes: 2, podsPerNode: 2, type: 'L2Bridge' });
    try {
      lab.underlay();
      // Off in the node namespaces: creating the bridge network must turn it on (stateful ACLs on one bridge need it).
      for (const n of lab.plan.nodes) lab.exec(n.name, ['sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0']);
      ({ outside } = lab.external());
      await lab.network();
      ids = await lab.pods(() => [outboundNat]);
      for (const n of lab.plan.nodes) for (const p of n.pods) servers.push(await serve(p.name, 8080, p.name));
      servers.push(await serve(lab.plan.switchNs, 8080, 'outside'));
    } catch (e) {
      await lab.down();
      throw e;
    }
  });
  after(async () => {
    for (const s of servers) s.kill();
    await lab?.down();
  });

  const pod = (n: number, p: number) => lab.plan.nodes[n].pods[p];

  it('OutBoundNAT: leaving the cluster is masqueraded to the node address', () => {
    assert.equal(get(pod(0, 0).name, outside, 8080), `outside ${lab.plan.nodes[0].underlayIp}`);
  });

  it('OutBoundNAT exceptions: pod → pod across nodes keeps the pod source address', () => {
    assert.equal(get(pod(0, 0).name, pod(1, 0).ip, 8080), `${pod(1, 0).name} ${pod(0, 0).ip}`);
  });

  it('PortMapping: a host port reaches the pod, from outside, from the node itself and through 127.0.0.1 on the node', async () => {
    const dp = lab.runtimes[0].dp;
    await dp.modifyEndpoint(ids.get(pod(0, 1).name)!, {
      ResourceType: 'Policy',
      RequestType: 'Add',
      Settings: { Policies: [{ Type: 'PortMapping', Settings: { Protocol: 6, InternalPort: 8080, ExternalPort: 8081 } }] },
    });
    const node = lab.plan.nodes[0];
    assert.match(get(lab.plan.switchNs, node.underlayIp, 8081) ?? '', new RegExp(`^${pod(0, 1).name} `));
    assert.match(get(node.name, node.underlayIp, 8081) ?? '', new RegExp(`^${pod(0, 1).name} `));
    // As portmap: a connection to 127.0.0.1:<host port> on the node reaches the pod (masqueraded to the node).
    assert.match(get(node.name, '127.0.0.1', 8081) ?? '', new RegExp(`^${pod(0, 1).name} `));
  });

  it('load balancer: a VIP spreads connections over two backends on different nodes', async () => {
    const dp = lab.runtimes[0].dp;
    const remote = await dp.createEndpoint(lab.runtimes[0].networkId, {
      Name: 'remote-backend',
      Flags: EndpointFlags.RemoteEndpoint,
      IpConfigurations: [{ IpAddress: pod(1, 1).ip }],
    });
    await dp.createLoadBalancer({
      HostComputeEndpoints: [ids.get(pod(0, 1).name)!, remote.ID!],
      FrontendVIPs: ['10.96.0.10'],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80 }],
    });
    const seen = new Set<string>();
    for (let i = 0; i < 24 && seen.size < 2; i++) {
      const answer = get(pod(0, 0).name, '10.96.0.10', 80);
      if (answer) seen.add(answer.split(' ')[0]);
    }
    assert.deepEqual([...seen].sort(), [pod(0, 1).name, pod(1, 1).name].sort());
  });

  it('load balancer: a node-port frontend (no VIP) answers on the node address, masqueraded toward remote backends', async () => {
    const dp = lab.runtimes[0].dp;
    const remote = (await dp.listEndpoints()).find((e) => e.Name === 'remote-backend')!;
    const lb = await dp.createLoadBalancer({
      HostComputeEndpoints: [remote.ID!],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 30080 }],
    });
    assert.equal(get(lab.plan.switchNs, lab.plan.nodes[0].underlayIp, 30080), `${pod(1, 1).name} ${lab.plan.nodes[0].underlayIp}`);
    await dp.deleteLoadBalancer(lb.ID!);
    assert.equal(get(lab.plan.switchNs, lab.plan.nodes[0].underlayIp, 30080), undefined);
  });

  it('ACL: Block In from one address takes effect, other sources are allowed, removing it restores traffic', async () => {
    const dp = lab.runtimes[1].dp;
    const target = ids.get(pod(1, 0).name)!;
    const acl: EndpointPolicy = {
      Type: 'ACL',
      Settings: { Action: 'Block', Direction: 'In', RemoteAddresses: pod(0, 0).ip, Priority: 100 },
    };
    await dp.modifyEndpoint(target, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [acl] } });
    assert.equal(lab.ok(pod(0, 0).name, ['ping', '-c', '1', '-W', '1', pod(1, 0).ip]), false);
    assert.ok(lab.ok(pod(0, 1).name, ['ping', '-c', '1', '-W', '2', pod(1, 0).ip]));
    assert.ok(lab.ok(pod(1, 1).name, ['ping', '-c', '1', '-W', '2', pod(1, 0).ip]), 'same-node pod is allowed too');
    await dp.modifyEndpoint(target, { ResourceType: 'Policy', RequestType: 'Remove', Settings: { Policies: [acl] } });
    assert.ok(lab.ok(pod(0, 0).name, ['ping', '-c', '1', '-W', '2', pod(1, 0).ip]));
  });

  it('ACL: Out Block on TCP remote port 8080 with a higher-priority Allow for one peer', async () => {
    const dp = lab.runtimes[0].dp;
    const src = ids.get(pod(0, 0).name)!;
    await dp.modifyEndpoint(src, {
      ResourceType: 'Policy',
      RequestType: 'Add',
      Settings: {
        Policies: [
          { Type: 'ACL', Settings: { Action: 'Block', Direction: 'Out', Protocols: '6', RemotePorts: '8080', Priority: 200 } },
          { Type: 'ACL', Settings: { Action: 'Allow', Direction: 'Out', Protocols: '6', RemoteAddresses: pod(0, 1).ip, Priority: 100 } },
        ],
      },
    });
    assert.equal(get(pod(0, 0).name, pod(1, 0).ip, 8080), undefined);
    assert.match(get(pod(0, 0).name, pod(0, 1).ip, 8080) ?? '', new RegExp(`^${pod(0, 1).name} `));
    assert.ok(lab.ok(pod(0, 0).name, ['ping', '-c', '1', '-W', '2', pod(1, 0).ip]), 'ICMP is not covered by the TCP rule');
  });

  it("ACL is stateful: Block In with Allow Out lets the pod's own connections get replies, new inbound ones are dropped", async () => {
    const dp = lab.runtimes[1].dp;
    const id = ids.get(pod(1, 1).name)!;
    const acls: EndpointPolicy[] = [
      { Type: 'ACL', Settings: { Action: 'Block', Direction: 'In', Priority: 200 } },
      { Type: 'ACL', Settings: { Action: 'Allow', Direction: 'Out', Priority: 100 } },
    ];
    await dp.modifyEndpoint(id, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: acls } });
    assert.equal(
      lab.exec(lab.plan.nodes[1].name, ['sysctl', '-n', 'net.bridge.bridge-nf-call-iptables']).trim(),
      '1',
      'the network turned br_netfilter on',
    );
    try {
      assert.equal(
        get(pod(1, 1).name, pod(0, 0).ip, 8080),
        `${pod(0, 0).name} ${pod(1, 1).ip}`,
        'outgoing TCP across nodes gets its replies',
      );
      assert.equal(
        get(pod(1, 1).name, pod(1, 0).ip, 8080),
        `${pod(1, 0).name} ${pod(1, 1).ip}`,
        'outgoing TCP on the same bridge gets its replies',
      );
      assert.ok(lab.ok(pod(1, 1).name, ['ping', '-c', '1', '-W', '2', pod(0, 1).ip]), 'echo replies pass');
      assert.equal(get(pod(0, 1).name, pod(1, 1).ip, 8080), undefined, 'a new inbound connection from another node is blocked');
      assert.equal(get(pod(1, 0).name, pod(1, 1).ip, 8080), undefined, 'a new inbound connection on the same bridge is blocked');
      assert.equal(lab.ok(pod(0, 1).name, ['ping', '-c', '1', '-W', '1', pod(1, 1).ip]), false, 'inbound echo requests are blocked');
    } finally {
      await dp.modifyEndpoint(id, { ResourceType: 'Policy', RequestType: 'Remove', Settings: { Policies: acls } });
    }
    assert.equal(
      get(pod(0, 1).name, pod(1, 1).ip, 8080),
      `${pod(1, 1).name} ${pod(0, 1).ip}`,
      'removing the ACLs lets inbound connections in again',
    );
  });

  it('ACL with a bad Direction is refused naming the field, and leaves the endpoint unchanged', async () => {
    const dp = lab.runtimes[0].dp;
    const id = ids.get(pod(0, 1).name)!;
    const before = await dp.getEndpoint(id);
    await assert.rejects(
      dp.modifyEndpoint(id, {
        ResourceType: 'Policy',
        RequestType: 'Add',
        Settings: { Policies: [{ Type: 'ACL', Settings: { Action: 'Block', Direction: 'Sideways' } } as EndpointPolicy] },
      }),
      (e: Error & { kind?: string }) => e.kind === 'bad-input' && /ACL\.Direction/.test(e.message),
    );
    assert.deepEqual(await dp.getEndpoint(id), before);
  });

  it('QOS: the pod egress gets a token bucket at the requested rate', async () => {
    const r = lab.runtimes[0];
    const ns = lab.addNetns(`${lab.plan.spec.prefix}-qos`);
    const ep = await r.dp.createEndpoint(r.networkId, {
      Policies: [{ Type: 'QOS', Settings: { MaximumOutgoingBandwidthInBytes: 1_250_000 } }],
    });
    await r.dp.attachEndpoint(`/var/run/netns/${lab.plan.spec.prefix}-qos`, ep.ID!);
    assert.match(lab.exec(`${lab.plan.spec.prefix}-qos`, ['tc', 'qdisc', 'show', 'dev', 'eth0']), /tbf .*rate 10Mbit/);
    await r.dp.deleteEndpoint(ep.ID!);
    assert.ok(ns);
  });
});
