/**
 * The proxy through the hcn data plane's real FFI binding against the stub computenetwork library: the same
 * documents cross the C ABI, and one endpoint change is still one HcnModifyLoadBalancer.
 */
import * as assert from 'node:assert/strict';
import { summarizeCalls } from '../../src/dataplane/call-log';
import { MemoryOwnershipStore, ServiceProxy } from '../../src/proxy/sync';
import { STUB_LIBRARY, assertNoLeaks, stub } from '../abi/stub';
import { Lab, NODE, NODE_IP, l2bridgeNetwork, service, slice, withoutId, writes } from './helpers';

describe('service proxy over the hcn data plane (stub library)', function () {
  let lab: Lab;
  let proxy: ServiceProxy | undefined;

  beforeEach(async function () {
    stub().reset();
    lab = new Lab();
    await lab.open(undefined, 'hcn', { hcnLibrary: STUB_LIBRARY });
  });
  afterEach(async function () {
    await proxy?.stop();
    proxy = undefined;
    await lab.close();
    assertNoLeaks();
  });

  it('creates the ClusterIP load balancer and modifies it in place for one endpoint change', async function () {
    const ids = await lab.network(l2bridgeNetwork(), ['10.244.1.5', '10.244.1.6']);
    proxy = new ServiceProxy({
      hns: lab.hns,
      network: { name: 'cbr0' },
      nodeName: NODE,
      nodeIPs: [NODE_IP],
      ownership: new MemoryOwnershipStore(),
      coalesceMs: 5,
      resyncIntervalMs: 0,
    });
    const svc = service('web', { clusterIP: '10.96.5.5', ports: [{ port: 80, targetPort: 8080, protocol: 'UDP' }] });
    proxy.replaceAll([svc], [slice('web', [{ ip: '10.244.1.5' }, { ip: '10.244.1.6' }], [{ port: 8080, protocol: 'UDP' }])]);
    let from = lab.mark();
    await proxy.start();
    const created = writes(lab.callsSince(from));
    assert.deepEqual(
      created.map((c) => c.op),
      ['createLoadBalancer'],
    );
    assert.deepEqual(withoutId(created[0].body as { ID?: string }), {
      HostComputeEndpoints: [ids.get('10.244.1.5'), ids.get('10.244.1.6')],
      FrontendVIPs: ['10.96.5.5'],
      PortMappings: [{ Protocol: 17, InternalPort: 8080, ExternalPort: 80 }],
      SchemaVersion: { Major: 2, Minor: 0 },
    });
    const live = await lab.hns.listLoadBalancers();
    assert.equal(live.length, 1);
    assert.deepEqual(
      live[0].HostComputeEndpoints?.map((e) => e.toUpperCase()).sort(),
      [ids.get('10.244.1.5'), ids.get('10.244.1.6')].map((e) => e!.toUpperCase()).sort(),
    );
    from = lab.mark();
    proxy.upsertSlice(slice('web', [{ ip: '10.244.1.6' }], [{ port: 8080, protocol: 'UDP' }]));
    await proxy.flush();
    assert.deepEqual(summarizeCalls(lab.callsSince(from)), { 'v2 modifyLoadBalancer': 1 });
    assert.deepEqual(
      (await lab.hns.getLoadBalancer(live[0].ID!)).HostComputeEndpoints?.map((e) => e.toUpperCase()),
      [ids.get('10.244.1.6')!.toUpperCase()],
    );
  });
});
