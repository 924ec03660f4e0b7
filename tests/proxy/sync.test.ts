/**
 * The sync on the memory data plane (the HNS emulator), asserted through the call log: the documents sent,
 * the calls per change, drift repair, adoption on restart and the kube-proxy coexistence refusal.
 */
import * as assert from 'node:assert/strict';
import { MemoryOwnershipStore, ServiceProxy, KubeProxyPresentError, type ServiceProxyOptions } from '../../src/proxy/sync';
import type { ProxyFinding } from '../../src/proxy/core';
import type { CallRecord } from '../../src/dataplane/types';
import { summarizeCalls } from '../../src/dataplane/call-log';
import { Lab, NODE, NODE_IP, PEER, l2bridgeNetwork, overlayNetwork, service, slice, withoutId, writes } from './helpers';

const SV = { Major: 2, Minor: 0 };
const bodies = (recs: CallRecord[], op: string) => recs.filter((r) => r.op === op).map((r) => withoutId(r.body as { ID?: string }));

describe('service proxy sync on the memory data plane', function () {
  let lab: Lab;
  let ids: Map<string, string>;
  let proxy: ServiceProxy | undefined;
  const store = () => new MemoryOwnershipStore();
  const newProxy = (o: Partial<ServiceProxyOptions> = {}) =>
    new ServiceProxy({
      hns: lab.hns,
      network: { name: 'cbr0' },
      nodeName: NODE,
      nodeIPs: [NODE_IP],
      ownership: store(),
      coalesceMs: 5,
      resyncIntervalMs: 0,
      ...o,
    });

  const dns = () =>
    service(
      'kube-dns',
      {
        clusterIP: '10.96.0.10',
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        ],
      },
      { ns: 'kube-system' },
    );
  const dnsSlice = (ips: string[]) =>
    slice(
      'kube-dns',
      ips.map((ip) => ({ ip })),
      [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53 },
      ],
      { ns: 'kube-system' },
    );
  const web = () => service('web', { type: 'NodePort', clusterIP: '10.96.5.5', ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] });
  const webSlice = (ips: string[]) =>
    slice(
      'web',
      ips.map((ip) => ({ ip })),
      [{ port: 8080 }],
    );

  async function l2bridge(version?: string): Promise<void> {
    lab = new Lab();
    await lab.open(version);
    ids = await lab.network(l2bridgeNetwork(), ['10.244.1.5', '10.244.1.6', '10.244.1.7']);
  }

  afterEach(async function () {
    await proxy?.stop();
    proxy = undefined;
    await lab?.close();
  });

  it('programs ClusterIP (UDP and TCP) and NodePort load balancers: the documents sent are the reference shapes', async function () {
    await l2bridge();
    proxy = newProxy();
    proxy.replaceAll([dns(), web()], [dnsSlice(['10.244.1.5', '10.244.1.6']), webSlice(['10.244.1.7'])]);
    const from = lab.mark();
    await proxy.start();
    const created = bodies(lab.callsSince(from), 'createLoadBalancer');
    const e = (ip: string) => ids.get(ip)!;
    assert.deepEqual(created, [
      {
        HostComputeEndpoints: [e('10.244.1.5'), e('10.244.1.6')],
        FrontendVIPs: ['10.96.0.10'],
        PortMappings: [{ Protocol: 17, InternalPort: 53, ExternalPort: 53 }],
        SchemaVersion: SV,
      },
      {
        HostComputeEndpoints: [e('10.244.1.5'), e('10.244.1.6')],
        FrontendVIPs: ['10.96.0.10'],
        PortMappings: [{ Protocol: 6, InternalPort: 53, ExternalPort: 53 }],
        SchemaVersion: SV,
      },
      {
        HostComputeEndpoints: [e('10.244.1.7')],
        FrontendVIPs: ['10.96.5.5'],
        PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80 }],
        SchemaVersion: SV,
      },
      {
        HostComputeEndpoints: [e('10.244.1.7')],
        PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 30080, Flags: 18 }],
        SchemaVersion: SV,
      },
    ]);
    assert.equal((await lab.hns.listLoadBalancers()).length, 4);
    assert.equal(proxy.counters.loadBalancersCreated, 4);
  });

  it('LoadBalancer ingress with ETP Local, ClientIP affinity and preserve-destination, ExternalIP, named port: the reference documents', async function () {
    await l2bridge();
    proxy = newProxy();
    const svc = service(
      'lb',
      {
        type: 'LoadBalancer',
        clusterIP: '10.96.7.7',
        externalTrafficPolicy: 'Local',
        sessionAffinity: 'ClientIP',
        externalIPs: ['203.0.113.5'],
        ports: [{ name: 'http', port: 80, targetPort: 'web', nodePort: 31000 }],
      },
      { ingress: ['20.1.2.3'], annotations: { 'preserve-destination': 'true' } },
    );
    proxy.replaceAll([svc], [slice('lb', [{ ip: '10.244.1.5' }, { ip: '10.244.2.7', node: PEER.name }], [{ name: 'http', port: 8080 }])]);
    const from = lab.mark();
    await proxy.start();
    const calls = writes(lab.callsSince(from));
    const remoteId = (calls.find((c) => c.op === 'createEndpoint')!.body as { ID: string }).ID;
    const local = ids.get('10.244.1.5')!;
    const pm = (external: number, flags?: number) => [
      { Protocol: 6, InternalPort: 8080, ExternalPort: external, DistributionType: 2, ...(flags ? { Flags: flags } : {}) },
    ];
    assert.deepEqual(bodies(calls, 'createLoadBalancer'), [
      { HostComputeEndpoints: [local, remoteId], FrontendVIPs: ['10.96.7.7'], PortMappings: pm(80), SchemaVersion: SV },
      { HostComputeEndpoints: [local], PortMappings: pm(31000, 18), SchemaVersion: SV, Flags: 1 },
      { HostComputeEndpoints: [local], FrontendVIPs: ['203.0.113.5'], PortMappings: pm(80, 16), SchemaVersion: SV, Flags: 1 },
      { HostComputeEndpoints: [local], FrontendVIPs: ['20.1.2.3'], PortMappings: pm(80, 28), SchemaVersion: SV, Flags: 1 },
    ]);
  });

  it('one endpoint change = one modifyLoadBalancer and no other HNS call (HNS 15.4)', async function () {
    await l2bridge();
    proxy = newProxy();
    proxy.replaceAll([web()], [webSlice(['10.244.1.5', '10.244.1.6'])]);
    await proxy.start();
    const webCluster = service('web', { clusterIP: '10.96.5.5', ports: [{ port: 80, targetPort: 8080 }] });
    proxy.upsertService(webCluster);
    await proxy.flush(); // NodePort LB removed: the ClusterIP-only service of the count below
    const from = lab.mark();
    proxy.upsertSlice(webSlice(['10.244.1.5']));
    await proxy.flush();
    const calls = lab.callsSince(from);
    assert.deepEqual(summarizeCalls(calls), { 'v2 modifyLoadBalancer': 1 });
    assert.deepEqual((calls[0].body as { HostComputeEndpoints: string[] }).HostComputeEndpoints, [ids.get('10.244.1.5')]);
    // A burst of changes inside the window is one sync.
    const burst = lab.mark();
    const syncs = proxy.counters.syncs;
    proxy.upsertSlice(webSlice(['10.244.1.5', '10.244.1.6']));
    proxy.upsertSlice(webSlice(['10.244.1.5', '10.244.1.6', '10.244.1.7']));
    await new Promise((r) => setTimeout(r, 50));
    await proxy.flush();
    assert.equal(proxy.counters.syncs, syncs + 1);
    assert.deepEqual(summarizeCalls(lab.callsSince(burst)), { 'v2 modifyLoadBalancer': 1 });
  });

  it('terminating endpoints: a terminating pod leaves the LB while others are ready, and serves alone when none is', async function () {
    await l2bridge();
    proxy = newProxy();
    const svc = service('web', { clusterIP: '10.96.5.5', ports: [{ port: 80, targetPort: 8080 }] });
    proxy.replaceAll([svc], [webSlice(['10.244.1.5', '10.244.1.6'])]);
    await proxy.start();
    const lbId = [...proxy.programmedIds().values()][0];
    const endpointsNow = async () => (await lab.hns.getLoadBalancer(lbId)).HostComputeEndpoints;
    proxy.upsertSlice(
      slice('web', [{ ip: '10.244.1.5', ready: false, serving: true, terminating: true }, { ip: '10.244.1.6' }], [{ port: 8080 }]),
    );
    await proxy.flush();
    assert.deepEqual(await endpointsNow(), [ids.get('10.244.1.6')]);
    proxy.upsertSlice(
      slice(
        'web',
        [
          { ip: '10.244.1.5', ready: false, serving: true, terminating: true },
          { ip: '10.244.1.6', ready: false, serving: false, terminating: true },
        ],
        [{ port: 8080 }],
      ),
    );
    await proxy.flush();
    assert.deepEqual(await endpointsNow(), [ids.get('10.244.1.5')]);
    const from = lab.mark();
    proxy.upsertSlice(slice('web', [{ ip: '10.244.1.6', ready: false, serving: false, terminating: true }], [{ port: 8080 }]));
    await proxy.flush();
    assert.deepEqual(
      writes(lab.callsSince(from)).map((c) => `${c.op} ${c.id}`),
      [`deleteLoadBalancer ${lbId}`],
    );
  });

  it('a NodePort moving from one Service to another in one burst: the old LB is deleted before the new one is created', async function () {
    await l2bridge();
    proxy = newProxy();
    const a = (nodePort?: number) =>
      service('a', { type: nodePort ? 'NodePort' : 'ClusterIP', clusterIP: '10.96.1.1', ports: [{ port: 80, nodePort }] });
    const b = (nodePort?: number) =>
      service('b', { type: nodePort ? 'NodePort' : 'ClusterIP', clusterIP: '10.96.1.2', ports: [{ port: 80, nodePort }] });
    proxy.replaceAll(
      [a(30500), b()],
      [slice('a', [{ ip: '10.244.1.5' }], [{ port: 80 }]), slice('b', [{ ip: '10.244.1.6' }], [{ port: 80 }], { name: 'b-x' })],
    );
    await proxy.start();
    const from = lab.mark();
    proxy.upsertService(b(30500));
    proxy.upsertService(a());
    await proxy.flush();
    assert.deepEqual(
      writes(lab.callsSince(from)).map((c) => `${c.op} ${c.ok}`),
      ['deleteLoadBalancer true', 'createLoadBalancer true'],
    );
    assert.equal(proxy.counters.errors, 0);
    assert.equal(proxy.programmedIds().has('default/b:-/TCP:NodePort'), true);
  });

  it('without ModifyLoadbalancer (HNS 15.3) one endpoint change = delete + create, nothing else', async function () {
    await l2bridge('15.3');
    proxy = newProxy();
    proxy.replaceAll(
      [service('web', { clusterIP: '10.96.5.5', ports: [{ port: 80, targetPort: 8080 }] })],
      [webSlice(['10.244.1.5', '10.244.1.6'])],
    );
    await proxy.start();
    const from = lab.mark();
    proxy.upsertSlice(webSlice(['10.244.1.6']));
    await proxy.flush();
    const calls = lab.callsSince(from);
    assert.deepEqual(
      calls.map((c) => c.op),
      ['deleteLoadBalancer', 'createLoadBalancer'],
    );
    assert.deepEqual(await lab.hns.listLoadBalancers().then((l) => l.map((x) => x.HostComputeEndpoints)), [[ids.get('10.244.1.6')]]);
  });

  it('repairs drift: one load balancer deleted out of band, then all of them (HNS restart), recreated and counted', async function () {
    await l2bridge();
    proxy = newProxy();
    proxy.replaceAll([dns(), web()], [dnsSlice(['10.244.1.5']), webSlice(['10.244.1.7'])]);
    await proxy.start();
    const before = await lab.hns.listLoadBalancers();
    await lab.hns.deleteLoadBalancer(before[0].ID!);
    let from = lab.mark();
    await proxy.resync();
    assert.deepEqual(summarizeCalls(writes(lab.callsSince(from))), { 'v2 createLoadBalancer': 1 });
    assert.equal(proxy.counters.driftLoadBalancersMissing, 1);
    assert.equal((await lab.hns.listLoadBalancers()).length, 4);
    for (const lb of await lab.hns.listLoadBalancers()) await lab.hns.deleteLoadBalancer(lb.ID!);
    from = lab.mark();
    await proxy.resync();
    assert.deepEqual(summarizeCalls(writes(lab.callsSince(from))), { 'v2 createLoadBalancer': 4 });
    assert.equal(proxy.counters.driftLoadBalancersMissing, 5);
    // An LB altered out of band is restored.
    const one = (await lab.hns.listLoadBalancers()).find((l) => l.FrontendVIPs?.[0] === '10.96.5.5')!;
    await lab.hns.modifyLoadBalancer(one.ID!, { ...one, ID: undefined, HostComputeEndpoints: [ids.get('10.244.1.6')!] });
    from = lab.mark();
    await proxy.resync();
    assert.deepEqual(summarizeCalls(writes(lab.callsSince(from))), { 'v2 modifyLoadBalancer': 1 });
    assert.equal(proxy.counters.driftLoadBalancersAltered, 1);
    assert.deepEqual((await lab.hns.getLoadBalancer(one.ID!)).HostComputeEndpoints, [ids.get('10.244.1.7')]);
  });

  it('a restart adopts what is programmed: no write call; a Service deleted meanwhile loses its load balancers', async function () {
    await l2bridge();
    const own = store();
    proxy = newProxy({ ownership: own });
    proxy.replaceAll([dns(), web()], [dnsSlice(['10.244.1.5']), webSlice(['10.244.1.7'])]);
    await proxy.start();
    await proxy.stop();
    proxy = newProxy({ ownership: own });
    proxy.replaceAll([dns(), web()], [dnsSlice(['10.244.1.5']), webSlice(['10.244.1.7'])]);
    let from = lab.mark();
    await proxy.start();
    assert.deepEqual(writes(lab.callsSince(from)), []);
    assert.equal(proxy.counters.loadBalancersAdopted, 4);
    await proxy.stop();
    // Without the record (state file lost), the tagged IDs still say whose they are.
    proxy = newProxy({ ownership: store() });
    proxy.replaceAll([dns()], [dnsSlice(['10.244.1.5'])]);
    from = lab.mark();
    await proxy.start();
    assert.deepEqual(summarizeCalls(writes(lab.callsSince(from))), { 'v2 deleteLoadBalancer': 2 });
    assert.equal((await lab.hns.listLoadBalancers()).length, 2);
  });

  it('never touches a load balancer it did not create; refuses to start beside kube-proxy, naming its load balancers', async function () {
    await l2bridge();
    // kube-proxy's ClusterIP LB (HNS-assigned ID, winkernel shape) and a user's ILB one (not kube-proxy's shape).
    const kp = await lab.hns.createLoadBalancer({
      HostComputeEndpoints: [ids.get('10.244.1.5')!],
      FrontendVIPs: ['10.96.0.10'],
      PortMappings: [{ Protocol: 17, InternalPort: 53, ExternalPort: 53 }],
      SchemaVersion: SV,
    });
    const user = await lab.hns.createLoadBalancer({
      HostComputeEndpoints: [ids.get('10.244.1.6')!],
      FrontendVIPs: ['10.0.0.99'],
      PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: 80, Flags: 1 }],
      SchemaVersion: SV,
    });
    proxy = newProxy();
    proxy.replaceAll([dns()], [dnsSlice(['10.244.1.5'])]);
    const from = lab.mark();
    await assert.rejects(proxy.start(), (e: Error) => {
      assert.ok(e instanceof KubeProxyPresentError);
      assert.deepEqual(e.found, [kp.ID]);
      assert.match(e.message, /kube-proxy \(winkernel\).*10\.96\.0\.10:53\/UDP.*Stop kube-proxy on this node/s);
      return true;
    });
    assert.deepEqual(writes(lab.callsSince(from)), []);
    // With adoption, the exact match is taken over; the user's LB is left alone.
    proxy = newProxy({ adoptForeign: true });
    proxy.replaceAll([dns()], [dnsSlice(['10.244.1.5'])]);
    await proxy.start();
    assert.equal(proxy.programmedIds().get('kube-system/kube-dns:dns/UDP:ClusterIP:10.96.0.10'), kp.ID);
    proxy.deleteService(dns());
    await proxy.flush();
    const left = (await lab.hns.listLoadBalancers()).map((l) => l.ID);
    assert.deepEqual(left, [user.ID]);
  });

  it('overlay: remote endpoints with the peer provider address are created with their slices and deleted with them', async function () {
    lab = new Lab();
    await lab.open();
    ids = await lab.network(overlayNetwork(), ['10.244.1.5', '10.244.1.254']);
    await lab.hns.modifyNetwork(lab.networkId, {
      ResourceType: 'Policy',
      RequestType: 'Add',
      Settings: {
        Policies: [
          {
            Type: 'RemoteSubnetRoute',
            Settings: {
              DestinationPrefix: PEER.prefix,
              IsolationId: 4096,
              ProviderAddress: PEER.ip,
              DistributedRouterMacAddress: '00-15-5d-bb-6e-c2',
            },
          },
        ],
      },
    });
    proxy = newProxy({ network: { name: 'flannel.4096' }, sourceVip: '10.244.1.254' });
    proxy.replaceAll(
      [dns()],
      [
        slice('kube-dns', [{ ip: '10.244.1.5' }, { ip: '10.244.2.7', node: PEER.name }], [{ name: 'dns', port: 53, protocol: 'UDP' }], {
          ns: 'kube-system',
        }),
      ],
    );
    let from = lab.mark();
    await proxy.start();
    let calls = writes(lab.callsSince(from));
    assert.deepEqual(
      calls.map((c) => c.op),
      ['createEndpoint', 'createLoadBalancer'],
    );
    const remote = calls[0];
    const remoteId = (remote.body as { ID: string }).ID;
    assert.deepEqual(withoutId(remote.body as { ID?: string }), {
      IpConfigurations: [{ IpAddress: '10.244.2.7' }],
      MacAddress: '02-11-0a-f4-02-07',
      Flags: 1,
      HostComputeNetwork: lab.networkId,
      Policies: [{ Type: 'ProviderAddress', Settings: { ProviderAddress: PEER.ip } }],
      SchemaVersion: SV,
    });
    assert.deepEqual(withoutId(calls[1].body as { ID?: string }), {
      HostComputeEndpoints: [ids.get('10.244.1.5'), remoteId],
      SourceVIP: '10.244.1.254',
      FrontendVIPs: ['10.96.0.10'],
      PortMappings: [{ Protocol: 17, InternalPort: 53, ExternalPort: 53 }],
      SchemaVersion: SV,
    });
    from = lab.mark();
    proxy.upsertSlice(slice('kube-dns', [{ ip: '10.244.1.5' }], [{ name: 'dns', port: 53, protocol: 'UDP' }], { ns: 'kube-system' }));
    await proxy.flush();
    calls = writes(lab.callsSince(from));
    assert.deepEqual(
      calls.map((c) => `${c.op} ${c.id}`),
      [`modifyLoadBalancer ${proxy.programmedIds().values().next().value}`, `deleteEndpoint ${remoteId}`],
    );
  });

  it('ETP Local on a host without DSR (HNS 10.1): local-only NodePort LB, a degraded finding handed to the caller', async function () {
    await l2bridge('10.1');
    const found: ProxyFinding[] = [];
    const logs: string[] = [];
    proxy = newProxy({ onFinding: (f) => found.push(f), log: (level, msg) => logs.push(`${level} ${msg}`) });
    const svc = service('np', {
      type: 'NodePort',
      clusterIP: '10.96.9.9',
      externalTrafficPolicy: 'Local',
      ports: [{ port: 80, targetPort: 8080, nodePort: 30090 }],
    });
    proxy.replaceAll([svc], [slice('np', [{ ip: '10.244.1.5' }, { ip: '10.244.2.7', node: PEER.name }], [{ port: 8080 }])]);
    const from = lab.mark();
    await proxy.start();
    const np = bodies(lab.callsSince(from), 'createLoadBalancer').find((b) => !('FrontendVIPs' in b));
    assert.deepEqual(np, {
      HostComputeEndpoints: [ids.get('10.244.1.5')],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 30090, Flags: 18 }],
      SchemaVersion: SV,
    });
    assert.deepEqual(
      found.map((f) => [f.service, f.reason, f.severity]),
      [['default/np', 'EtpLocalWithoutDsr', 'degraded']],
    );
    assert.equal(proxy.counters.findings.EtpLocalWithoutDsr, 1);
    assert.ok(logs.some((l) => l.startsWith('warn service default/np: externalTrafficPolicy Local')));
    // The same finding is not repeated on an unrelated resync.
    await proxy.resync();
    assert.equal(found.length, 1);
  });
});
