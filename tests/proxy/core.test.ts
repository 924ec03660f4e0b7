/**
 * The pure core: Services + EndpointSlices + node facts → HNS load balancer documents, asserted against the
 * reference examples (ops reference §2.4, hcn-api.md §4.1) and kube-proxy winkernel's rules.
 */
import * as assert from 'node:assert/strict';
import { planService, renderLoadBalancer, remoteEndpointDocument, type ServicePlan } from '../../src/proxy/core';
import { NODE_IP, PEER, facts, service, slice } from './helpers';

const idOf = (ip: string, local: boolean) => (local ? `ep-${ip}` : `rem-${ip}`);
const docs = (plan: ServicePlan) => Object.fromEntries(plan.loadBalancers.map((lb) => [lb.identity, renderLoadBalancer(lb, idOf)]));
const SV = { Major: 2, Minor: 0 };

describe('proxy core: Service → HNS load balancer documents', function () {
  it('ClusterIP UDP DNS on overlay: the reference request (SourceVIP = source VIP, no flags), remote backend with PA', function () {
    const svc = service(
      'kube-dns',
      { clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' }] },
      { ns: 'kube-system' },
    );
    const sl = slice(
      'kube-dns',
      [{ ip: '10.244.1.5' }, { ip: '10.244.2.7', node: PEER.name }],
      [{ name: 'dns', port: 53, protocol: 'UDP' }],
      { ns: 'kube-system' },
    );
    const plan = planService(
      svc,
      [sl],
      facts({
        networkType: 'Overlay',
        sourceVip: '10.244.2.3',
        local: ['10.244.1.5'],
        remoteSubnets: [{ prefix: PEER.prefix, providerAddress: PEER.ip }],
      }),
    );
    assert.deepEqual(docs(plan), {
      'kube-system/kube-dns:dns/UDP:ClusterIP:10.96.0.10': {
        HostComputeEndpoints: ['ep-10.244.1.5', 'rem-10.244.2.7'],
        SourceVIP: '10.244.2.3',
        FrontendVIPs: ['10.96.0.10'],
        PortMappings: [{ Protocol: 17, InternalPort: 53, ExternalPort: 53 }],
        SchemaVersion: SV,
      },
    });
    assert.deepEqual(plan.remoteEndpoints, [{ ip: '10.244.2.7', mac: '02-11-0a-f4-02-07', providerAddress: PEER.ip, purpose: 'backend' }]);
    assert.deepEqual(remoteEndpointDocument(plan.remoteEndpoints[0], 'NET-1'), {
      IpConfigurations: [{ IpAddress: '10.244.2.7' }],
      MacAddress: '02-11-0a-f4-02-07',
      Flags: 1,
      HostComputeNetwork: 'NET-1',
      Policies: [{ Type: 'ProviderAddress', Settings: { ProviderAddress: PEER.ip } }],
      SchemaVersion: SV,
    });
    assert.deepEqual(plan.findings, []);
  });

  it('ClusterIP TCP on L2Bridge: no SourceVIP, remote endpoints without PA', function () {
    const svc = service('web', { clusterIP: '10.96.5.5', ports: [{ port: 80, targetPort: 8080 }] });
    const plan = planService(
      svc,
      [slice('web', [{ ip: '10.244.1.5' }, { ip: '10.244.2.7', node: PEER.name }], [{ port: 8080 }])],
      facts({ local: ['10.244.1.5'] }),
    );
    assert.deepEqual(docs(plan)['default/web:-/TCP:ClusterIP:10.96.5.5'], {
      HostComputeEndpoints: ['ep-10.244.1.5', 'rem-10.244.2.7'],
      FrontendVIPs: ['10.96.5.5'],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80 }],
      SchemaVersion: SV,
    });
    assert.deepEqual(plan.remoteEndpoints, [{ ip: '10.244.2.7', mac: '02-11-0a-f4-02-07', purpose: 'backend' }]);
  });

  it('NodePort ETP Cluster: empty frontend, flags VipExternalIP|LocalRoutedVIP = 18 (reference example)', function () {
    const svc = service('web', { type: 'NodePort', clusterIP: '10.96.5.5', ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] });
    const plan = planService(
      svc,
      [slice('web', [{ ip: '10.244.1.5' }], [{ port: 8080 }])],
      facts({ networkType: 'Overlay', sourceVip: '10.244.2.3', local: ['10.244.1.5'] }),
    );
    assert.deepEqual(docs(plan)['default/web:-/TCP:NodePort'], {
      HostComputeEndpoints: ['ep-10.244.1.5'],
      SourceVIP: '10.244.2.3',
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 30080, Flags: 18 }],
      SchemaVersion: SV,
    });
  });

  it('LoadBalancer ingress, ETP Local, ClientIP affinity, preserve-destination: the reference example (Flags 28, DSR, local only)', function () {
    const svc = service(
      'lb',
      {
        type: 'LoadBalancer',
        clusterIP: '10.96.7.7',
        externalTrafficPolicy: 'Local',
        sessionAffinity: 'ClientIP',
        ports: [{ port: 80, targetPort: 8080, nodePort: 31000 }],
      },
      { ingress: ['20.1.2.3'], annotations: { 'preserve-destination': 'true' } },
    );
    const plan = planService(
      svc,
      [slice('lb', [{ ip: '10.244.1.5' }, { ip: '10.244.2.7', node: PEER.name }], [{ port: 8080 }])],
      facts({ local: ['10.244.1.5'] }),
    );
    const d = docs(plan);
    assert.deepEqual(d['default/lb:-/TCP:LoadBalancerIngress:20.1.2.3'], {
      HostComputeEndpoints: ['ep-10.244.1.5'],
      FrontendVIPs: ['20.1.2.3'],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, DistributionType: 2, Flags: 28 }],
      SchemaVersion: SV,
      Flags: 1,
    });
    assert.deepEqual(d['default/lb:-/TCP:NodePort'], {
      HostComputeEndpoints: ['ep-10.244.1.5'],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 31000, DistributionType: 2, Flags: 18 }],
      SchemaVersion: SV,
      Flags: 1,
    });
    // ClusterIP: every endpoint, no DSR (kube-proxy enableDSR is off), affinity too.
    assert.deepEqual(d['default/lb:-/TCP:ClusterIP:10.96.7.7'], {
      HostComputeEndpoints: ['ep-10.244.1.5', 'rem-10.244.2.7'],
      FrontendVIPs: ['10.96.7.7'],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, DistributionType: 2 }],
      SchemaVersion: SV,
    });
  });

  it('ExternalIPs: one LB per IP, flag VipExternalIP (16); ETP Local makes it local-only with DSR', function () {
    const svc = service('ext', {
      clusterIP: '10.96.8.8',
      externalIPs: ['203.0.113.5', '203.0.113.6'],
      ports: [{ port: 443, targetPort: 8443 }],
    });
    const eps = [slice('ext', [{ ip: '10.244.1.5' }, { ip: '10.244.2.7', node: PEER.name }], [{ port: 8443 }])];
    let d = docs(planService(svc, eps, facts({ local: ['10.244.1.5'] })));
    assert.deepEqual(d['default/ext:-/TCP:ExternalIP:203.0.113.5'], {
      HostComputeEndpoints: ['ep-10.244.1.5', 'rem-10.244.2.7'],
      FrontendVIPs: ['203.0.113.5'],
      PortMappings: [{ Protocol: 6, InternalPort: 8443, ExternalPort: 443, Flags: 16 }],
      SchemaVersion: SV,
    });
    assert.ok(d['default/ext:-/TCP:ExternalIP:203.0.113.6']);
    svc.spec!.externalTrafficPolicy = 'Local';
    d = docs(planService(svc, eps, facts({ local: ['10.244.1.5'] })));
    assert.deepEqual(d['default/ext:-/TCP:ExternalIP:203.0.113.5'], {
      HostComputeEndpoints: ['ep-10.244.1.5'],
      FrontendVIPs: ['203.0.113.5'],
      PortMappings: [{ Protocol: 6, InternalPort: 8443, ExternalPort: 443, Flags: 16 }],
      SchemaVersion: SV,
      Flags: 1,
    });
  });

  it('ETP Local on a host without DSR: local endpoints only, no DSR flag, and a degraded finding (never silently all endpoints)', function () {
    const svc = service('np', {
      type: 'NodePort',
      clusterIP: '10.96.9.9',
      externalTrafficPolicy: 'Local',
      ports: [{ port: 80, targetPort: 8080, nodePort: 30090 }],
    });
    const plan = planService(
      svc,
      [slice('np', [{ ip: '10.244.1.5' }, { ip: '10.244.2.7', node: PEER.name }], [{ port: 8080 }])],
      facts({ version: '10.1', local: ['10.244.1.5'] }),
    );
    assert.deepEqual(docs(plan)['default/np:-/TCP:NodePort'], {
      HostComputeEndpoints: ['ep-10.244.1.5'],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 30090, Flags: 18 }],
      SchemaVersion: SV,
    });
    assert.deepEqual(
      plan.findings.map((f) => [f.reason, f.severity]),
      [['EtpLocalWithoutDsr', 'degraded']],
    );
  });

  it('sessionAffinity ClientIP on HNS < 12.0: no DistributionType, a degraded finding', function () {
    const svc = service('aff', { clusterIP: '10.96.9.10', sessionAffinity: 'ClientIP', ports: [{ port: 80 }] });
    const plan = planService(
      svc,
      [slice('aff', [{ ip: '10.244.1.5' }], [{ port: 80 }])],
      facts({ version: '11.10', local: ['10.244.1.5'] }),
    );
    assert.deepEqual(plan.loadBalancers[0].template.PortMappings, [{ Protocol: 6, InternalPort: 80, ExternalPort: 80 }]);
    assert.deepEqual(
      plan.findings.map((f) => f.reason),
      ['SessionAffinityUnsupported'],
    );
  });

  it('internalTrafficPolicy Local: the ClusterIP LB has only local endpoints, NodePort keeps all', function () {
    const svc = service('itp', {
      type: 'NodePort',
      clusterIP: '10.96.9.11',
      internalTrafficPolicy: 'Local',
      ports: [{ port: 80, nodePort: 30111 }],
    });
    const d = docs(
      planService(
        svc,
        [slice('itp', [{ ip: '10.244.1.5' }, { ip: '10.244.2.7', node: PEER.name }], [{ port: 80 }])],
        facts({ local: ['10.244.1.5'] }),
      ),
    );
    assert.deepEqual(d['default/itp:-/TCP:ClusterIP:10.96.9.11'].HostComputeEndpoints, ['ep-10.244.1.5']);
    assert.deepEqual(d['default/itp:-/TCP:NodePort'].HostComputeEndpoints, ['ep-10.244.1.5', 'rem-10.244.2.7']);
  });

  it('terminating endpoints: ready ones first; serving-terminating only when none is ready; never non-serving', function () {
    const svc = service('term', { clusterIP: '10.96.9.12', ports: [{ port: 80 }] });
    const f = facts({ local: ['10.244.1.5', '10.244.1.6', '10.244.1.7'] });
    const mixed = slice(
      'term',
      [
        { ip: '10.244.1.5' },
        { ip: '10.244.1.6', ready: false, serving: true, terminating: true },
        { ip: '10.244.1.7', ready: false, serving: false, terminating: true },
      ],
      [{ port: 80 }],
    );
    assert.deepEqual(docs(planService(svc, [mixed], f))['default/term:-/TCP:ClusterIP:10.96.9.12'].HostComputeEndpoints, ['ep-10.244.1.5']);
    const draining = slice(
      'term',
      [
        { ip: '10.244.1.6', ready: false, serving: true, terminating: true },
        { ip: '10.244.1.7', ready: false, serving: false, terminating: true },
      ],
      [{ port: 80 }],
    );
    assert.deepEqual(docs(planService(svc, [draining], f))['default/term:-/TCP:ClusterIP:10.96.9.12'].HostComputeEndpoints, [
      'ep-10.244.1.6',
    ]);
    const gone = slice('term', [{ ip: '10.244.1.7', ready: false, serving: false, terminating: true }], [{ port: 80 }]);
    assert.deepEqual(planService(svc, [gone], f).loadBalancers, [], 'no usable endpoint: no load balancer (HNS refuses an empty one)');
  });

  it('named target port: resolved through the EndpointSlice port of the same name', function () {
    const svc = service('named', { clusterIP: '10.96.9.13', ports: [{ name: 'http', port: 80, targetPort: 'web' }] });
    const plan = planService(
      svc,
      [slice('named', [{ ip: '10.244.1.5' }], [{ name: 'http', port: 8081 }])],
      facts({ local: ['10.244.1.5'] }),
    );
    assert.deepEqual(plan.loadBalancers[0].template.PortMappings, [{ Protocol: 6, InternalPort: 8081, ExternalPort: 80 }]);
    assert.equal(plan.loadBalancers[0].identity, 'default/named:http/TCP:ClusterIP:10.96.9.13');
    // Pods that resolve the name differently: one LB has one InternalPort; the others are left out, and said so.
    const two = [
      slice('named', [{ ip: '10.244.1.5' }], [{ name: 'http', port: 8081 }]),
      slice('named', [{ ip: '10.244.1.6' }], [{ name: 'http', port: 9090 }], { name: 'named-2' }),
    ];
    const mixed = planService(svc, two, facts({ local: ['10.244.1.5', '10.244.1.6'] }));
    assert.deepEqual(
      mixed.loadBalancers[0].backends.map((b) => b.ip),
      ['10.244.1.5'],
    );
    assert.deepEqual(
      mixed.findings.map((f) => f.reason),
      ['MixedTargetPorts'],
    );
  });

  it('overlay SourceVIP rule: the node IP when a backend is a peer node address or outside every remote subnet', function () {
    const svc = service('api', { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, targetPort: 6443 }] });
    const f = facts({
      networkType: 'Overlay',
      sourceVip: '10.244.1.254',
      remoteSubnets: [{ prefix: PEER.prefix, providerAddress: PEER.ip }],
    });
    const onPeer = planService(svc, [slice('api', [{ ip: PEER.ip, node: PEER.name }], [{ name: 'https', port: 6443 }])], f);
    assert.equal(onPeer.loadBalancers[0].template.SourceVIP, NODE_IP);
    assert.deepEqual(onPeer.remoteEndpoints, [{ ip: PEER.ip, mac: '02-11-c0-a8-00-0b', providerAddress: PEER.ip, purpose: 'backend' }]);
    const publicIp = planService(svc, [slice('api', [{ ip: '172.16.0.4', node: 'master' }], [{ name: 'https', port: 6443 }])], f);
    assert.equal(publicIp.loadBalancers[0].template.SourceVIP, NODE_IP);
    assert.equal(publicIp.remoteEndpoints[0].providerAddress, NODE_IP, 'a public backend is reached through this node');
    const pod = planService(svc, [slice('api', [{ ip: '10.244.2.9', node: PEER.name }], [{ name: 'https', port: 6443 }])], f);
    assert.equal(pod.loadBalancers[0].template.SourceVIP, '10.244.1.254');
  });

  it('overlay: a service-VIP remote endpoint per ClusterIP when the host MAC is known (MAC = host, PA = node IP)', function () {
    const svc = service('web', { clusterIP: '10.96.5.5', ports: [{ port: 80 }] });
    const plan = planService(svc, [], facts({ networkType: 'Overlay', sourceVip: '10.244.1.254', hostMac: '00-15-5D-00-00-01' }));
    assert.deepEqual(plan.remoteEndpoints, [
      { ip: '10.96.5.5', mac: '00-15-5D-00-00-01', providerAddress: NODE_IP, purpose: 'service-vip' },
    ]);
    assert.deepEqual(plan.loadBalancers, []);
  });

  it('a local endpoint HNS does not know is left out with a finding; headless and ExternalName services get nothing', function () {
    const svc = service('web', { clusterIP: '10.96.5.5', ports: [{ port: 80 }] });
    const plan = planService(
      svc,
      [slice('web', [{ ip: '10.244.1.5' }, { ip: '10.244.1.99' }], [{ port: 80 }])],
      facts({ local: ['10.244.1.5'] }),
    );
    assert.deepEqual(
      plan.loadBalancers[0].backends.map((b) => b.ip),
      ['10.244.1.5'],
    );
    assert.deepEqual(
      plan.findings.map((f) => f.reason),
      ['LocalEndpointNotFound'],
    );
    assert.deepEqual(planService(service('h', { clusterIP: 'None', ports: [{ port: 80 }] }), [], facts()).loadBalancers, []);
    assert.deepEqual(
      planService(service('x', { type: 'ExternalName', externalName: 'example.com', ports: [{ port: 80 }] }), [], facts()).loadBalancers,
      [],
    );
  });

  it('identities are deterministic and distinct per port, protocol, kind and VIP', function () {
    const svc = service(
      'multi',
      {
        type: 'LoadBalancer',
        clusterIP: '10.96.1.1',
        externalIPs: ['203.0.113.9'],
        ports: [
          { name: 'a', port: 53, protocol: 'UDP', nodePort: 30053 },
          { name: 'b', port: 53, protocol: 'TCP', nodePort: 30054 },
        ],
      },
      { ingress: ['20.0.0.1'] },
    );
    const sl = slice(
      'multi',
      [{ ip: '10.244.1.5' }],
      [
        { name: 'a', port: 53, protocol: 'UDP' },
        { name: 'b', port: 53, protocol: 'TCP' },
      ],
    );
    const ids = planService(svc, [sl], facts({ local: ['10.244.1.5'] })).loadBalancers.map((l) => l.identity);
    assert.equal(new Set(ids).size, 8);
    assert.deepEqual(
      planService(svc, [sl], facts({ local: ['10.244.1.5'] })).loadBalancers.map((l) => l.identity),
      ids,
    );
  });
});
