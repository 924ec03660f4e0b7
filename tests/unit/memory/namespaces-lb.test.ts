import * as assert from 'node:assert/strict';
import { buildQuery, QueryFlags, type HostComputeLoadBalancer } from '../../../src/hns';
import { GUID_UPPER, l2bridge, rejectsWith, tempState, type TempState } from './helpers';

describe('memory data plane: namespaces', () => {
  let t: TempState;
  beforeEach(() => {
    t = tempState();
  });
  afterEach(() => t.cleanup());

  it('has a HostDefault namespace (compartment 1) that IsDefault finds', async () => {
    const hns = t.open();
    const [def] = await hns.listNamespaces(buildQuery({ IsDefault: true }, QueryFlags.Detailed));
    assert.equal(def.Type, 'HostDefault');
    assert.equal(def.NamespaceId, 1);
    assert.match(def.ID!, GUID_UPPER);
    assert.deepEqual(await hns.listNamespaces(buildQuery({ IsDefault: true })), [def], 'stable across reads');
    await rejectsWith(hns.deleteNamespace(def.ID!), 'E_INVALIDARG', 'bad-input');
    await rejectsWith(hns.createNamespace({ Type: 'HostDefault' }), 'ERROR_OBJECT_ALREADY_EXISTS', 'already-exists');
  });

  it('creates Host namespaces with a fresh compartment ID', async () => {
    const hns = t.open();
    const a = await hns.createNamespace({ SchemaVersion: { Major: 2, Minor: 0 } });
    const b = await hns.createNamespace({ Type: 'host' });
    assert.equal(a.Type, 'Host');
    assert.equal(b.Type, 'Host');
    assert.equal(a.NamespaceId, 2);
    assert.equal(b.NamespaceId, 3);
    assert.deepEqual(a.Resources, []);
    await rejectsWith(hns.createNamespace({ Type: 'Sideways' }), 'E_INVALIDARG', 'bad-input', /Sideways/);
  });

  it('attach records the endpoint on both sides; HNS errors for double attach and bad detach', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge());
    const ep = await hns.createEndpoint(net.ID!, { Name: 'pod' });
    const ns = await hns.createNamespace({});
    const other = await hns.createNamespace({});
    await hns.attachEndpoint(ns.ID!.toLowerCase(), ep.ID!.toLowerCase());
    assert.equal((await hns.getEndpoint(ep.ID!)).HostComputeNamespace, ns.ID);
    assert.deepEqual((await hns.getNamespace(ns.ID!)).Resources, [{ Type: 'Endpoint', Data: { ID: ep.ID } }]);
    await rejectsWith(hns.attachEndpoint(ns.ID!, ep.ID!), 'HCN_E_ENDPOINT_ALREADY_ATTACHED', 'already-attached');
    await rejectsWith(hns.attachEndpoint(other.ID!, ep.ID!), 'HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS', 'already-exists');
    await rejectsWith(hns.detachEndpoint(other.ID!, ep.ID!), 'HCN_E_ENDPOINT_NOT_ATTACHED');
    await rejectsWith(hns.detachEndpoint(ns.ID!, '5a0c7f2e-1111-4b9f-a3c4-6a7f0c6d5e11'), 'HCN_E_ENDPOINT_NOT_FOUND', 'not-found');
    await rejectsWith(hns.attachEndpoint('5a0c7f2e-1111-4b9f-a3c4-6a7f0c6d5e11', ep.ID!), 'ERROR_NOT_FOUND', 'not-found');
    await rejectsWith(hns.attachEndpoint('not-a-guid', ep.ID!), 'HCN_E_GUID_CONVERSION_FAILURE', 'bad-input');
    await hns.detachEndpoint(ns.ID!, ep.ID!);
    assert.equal((await hns.getEndpoint(ep.ID!)).HostComputeNamespace, undefined);
    assert.deepEqual((await hns.getNamespace(ns.ID!)).Resources, []);
  });

  it('deleting an endpoint detaches it; deleting a namespace releases its endpoints', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge());
    const a = await hns.createEndpoint(net.ID!, {});
    const b = await hns.createEndpoint(net.ID!, {});
    const ns = await hns.createNamespace({});
    await hns.modifyNamespace(ns.ID!, { ResourceType: 'Endpoint', RequestType: 'Add', Settings: { EndpointId: a.ID! } });
    await hns.modifyNamespace(ns.ID!, { ResourceType: 'Endpoint', RequestType: 'Add', Settings: { EndpointId: b.ID! } });
    await hns.deleteEndpoint(a.ID!);
    assert.deepEqual((await hns.getNamespace(ns.ID!)).Resources, [{ Type: 'Endpoint', Data: { ID: b.ID } }]);
    await hns.deleteNamespace(ns.ID!);
    assert.equal((await hns.getEndpoint(b.ID!)).HostComputeNamespace, undefined);
    await rejectsWith(hns.getNamespace(ns.ID!), 'ERROR_NOT_FOUND', 'not-found');
  });

  it('adds and removes container resources', async () => {
    const hns = t.open();
    const ns = await hns.createNamespace({});
    await hns.modifyNamespace(ns.ID!, { ResourceType: 'Container', RequestType: 'Add', Settings: { ContainerId: 'abc123' } });
    assert.deepEqual((await hns.getNamespace(ns.ID!)).Resources, [{ Type: 'Container', Data: { ID: 'abc123' } }]);
    await rejectsWith(
      hns.modifyNamespace(ns.ID!, { ResourceType: 'Container', RequestType: 'Add', Settings: { ContainerId: 'ABC123' } }),
      'ERROR_OBJECT_ALREADY_EXISTS',
    );
    await hns.modifyNamespace(ns.ID!, { ResourceType: 'Container', RequestType: 'Remove', Settings: { ContainerId: 'abc123' } });
    await rejectsWith(
      hns.modifyNamespace(ns.ID!, { ResourceType: 'Container', RequestType: 'Remove', Settings: { ContainerId: 'abc123' } }),
      'ERROR_NOT_FOUND',
      'not-found',
    );
  });
});

describe('memory data plane: load balancers', () => {
  let t: TempState;
  beforeEach(() => {
    t = tempState();
  });
  afterEach(() => t.cleanup());

  async function setup(version?: { Major: number; Minor: number }) {
    const hns = t.open(version);
    const net = await hns.createNetwork(l2bridge());
    const e1 = await hns.createEndpoint(net.ID!, {});
    const e2 = await hns.createEndpoint(net.ID!, {});
    const lb = (over: Partial<HostComputeLoadBalancer> = {}): HostComputeLoadBalancer => ({
      HostComputeEndpoints: [e1.ID!, e2.ID!],
      SourceVIP: '10.244.1.254',
      FrontendVIPs: ['10.96.0.10'],
      PortMappings: [{ Protocol: 17, InternalPort: 53, ExternalPort: 53, DistributionType: 0, Flags: 1 }],
      Flags: 0,
      SchemaVersion: { Major: 2, Minor: 0 },
      ...over,
    });
    return { hns, e1, e2, lb };
  }

  it('creates the kube-proxy load balancer document', async () => {
    const { hns, lb, e1 } = await setup();
    const created = await hns.createLoadBalancer(lb({ HostComputeEndpoints: [e1.ID!.toLowerCase()] }));
    assert.match(created.ID!, GUID_UPPER);
    assert.deepEqual(created.HostComputeEndpoints, [e1.ID], 'endpoint IDs are stored canonical');
    assert.deepEqual(await hns.getLoadBalancer(created.ID!), created);
    assert.deepEqual((await hns.listLoadBalancers(buildQuery({ ID: created.ID! }))).length, 1);
    await hns.deleteLoadBalancer(created.ID!);
    await rejectsWith(hns.getLoadBalancer(created.ID!), 'ERROR_NOT_FOUND', 'not-found');
  });

  it('needs at least one endpoint, all existing (E_INVALIDARG, HCN_E_ENDPOINT_NOT_FOUND)', async () => {
    const { hns, lb } = await setup();
    await rejectsWith(hns.createLoadBalancer(lb({ HostComputeEndpoints: [] })), 'E_INVALIDARG', 'bad-input', /at least one endpoint/);
    await rejectsWith(
      hns.createLoadBalancer(lb({ HostComputeEndpoints: ['5a0c7f2e-1111-4b9f-a3c4-6a7f0c6d5e11'] })),
      'HCN_E_ENDPOINT_NOT_FOUND',
      'not-found',
    );
    await rejectsWith(
      hns.createLoadBalancer(lb({ PortMappings: [{ Protocol: 6, InternalPort: 0, ExternalPort: 80 }] })),
      'HCN_E_INVALID_INTERNAL_PORT',
      'bad-input',
    );
    await rejectsWith(hns.createLoadBalancer(lb({ FrontendVIPs: ['nope'] })), 'E_INVALIDARG', 'bad-input', /FrontendVIPs/);
    assert.deepEqual(await hns.listLoadBalancers(), []);
  });

  it('refuses a second load balancer on the same frontend (HCN_E_PORT_ALREADY_EXISTS)', async () => {
    const { hns, lb } = await setup();
    await hns.createLoadBalancer(lb());
    await rejectsWith(hns.createLoadBalancer(lb()), 'HCN_E_PORT_ALREADY_EXISTS', 'port-in-use');
    await hns.createLoadBalancer(lb({ FrontendVIPs: ['10.96.0.11'] }));
  });

  it('gates DSR and session affinity on the HNS version', async () => {
    const { hns, lb } = await setup({ Major: 9, Minor: 2 });
    await rejectsWith(hns.createLoadBalancer(lb({ Flags: 1 })), 'HCN_E_REQUEST_UNSUPPORTED', 'unsupported', /DSR.*9\.2/);
    await rejectsWith(
      hns.createLoadBalancer(lb({ PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: 80, DistributionType: 2 }] })),
      'HCN_E_REQUEST_UNSUPPORTED',
      'unsupported',
      /12\.0/,
    );
    const dsrOk = t.open({ Major: 10, Minor: 2 });
    const created = await dsrOk.createLoadBalancer(
      lb({ Flags: 1, PortMappings: [{ Protocol: 6, InternalPort: 80, ExternalPort: 80, Flags: 8 }] }),
    );
    assert.equal(created.Flags, 1);
  });

  it('modifies in place from HNS 15.4 only', async () => {
    const old = await setup({ Major: 15, Minor: 3 });
    const created = await old.hns.createLoadBalancer(old.lb());
    await rejectsWith(
      old.hns.modifyLoadBalancer(created.ID!, old.lb({ HostComputeEndpoints: [old.e1.ID!] })),
      'HCN_E_REQUEST_UNSUPPORTED',
      'unsupported',
      /15\.4/,
    );
    const hns = t.open({ Major: 15, Minor: 4 });
    const modified = await hns.modifyLoadBalancer(created.ID!, old.lb({ HostComputeEndpoints: [old.e2.ID!] }));
    assert.equal(modified.ID, created.ID);
    assert.deepEqual((await hns.getLoadBalancer(created.ID!)).HostComputeEndpoints, [old.e2.ID]);
    await rejectsWith(hns.modifyLoadBalancer(created.ID!, old.lb({ HostComputeEndpoints: [] })), 'E_INVALIDARG', 'bad-input');
  });
});
