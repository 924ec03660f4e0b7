import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildQuery, findPolicies, type HnsV1Endpoint, type HnsV1Network, type HnsV1PolicyList } from '../../../src/hns';
import { FileV1SideStore, V1OverV2 } from '../../../src/dataplane/v1-over-v2';
import { rejectsWith, tempState, type TempState } from './helpers';
import { winBridgeV1Endpoint } from '../../fixtures/reference-documents';

const FLANNEL_HOSTGW = {
  Name: 'cbr0',
  Type: 'L2Bridge',
  DNSServerList: '10.96.0.10',
  Subnets: [{ AddressPrefix: '10.244.1.0/24', GatewayAddress: '10.244.1.1' }],
};

describe('memory data plane: HNS v1 surface', () => {
  let t: TempState;
  beforeEach(() => {
    t = tempState();
  });
  afterEach(() => t.cleanup());

  it('GET /globals/version reports the emulated version', async () => {
    const hns = t.open({ Major: 9, Minor: 5 });
    assert.deepEqual(await hns.v1.call('GET', '/globals/version'), { Major: 9, Minor: 5 });
  });

  it('POST /networks/ (flannel host-gw) is visible to v2, with ManagementIP published', async () => {
    const hns = t.open(undefined, { SWITCHYARD_EMULATOR_MANAGEMENT_IP: '10.0.0.4' });
    const created = await hns.v1.call<HnsV1Network>('POST', '/networks/', FLANNEL_HOSTGW);
    assert.equal(created.Type, 'L2Bridge');
    assert.equal(created.ManagementIP, '10.0.0.4');
    assert.equal(created.DNSServerList, '10.96.0.10');
    assert.deepEqual(
      created.Subnets!.map((s) => [s.AddressPrefix, s.GatewayAddress]),
      [['10.244.1.0/24', '10.244.1.1']],
    );
    const v2 = await hns.getNetwork(created.ID!);
    assert.equal(v2.Ipams![0].Subnets![0].IpAddressPrefix, '10.244.1.0/24');
    assert.deepEqual(v2.Dns, { ServerList: ['10.96.0.10'] });
    const listed = await hns.v1.call<HnsV1Network[]>('GET', '/networks/');
    assert.deepEqual(
      listed.map((n) => n.Name),
      ['cbr0'],
    );
    await rejectsWith(
      hns.v1.call('POST', '/networks/', FLANNEL_HOSTGW),
      'HCN_E_NETWORK_ALREADY_EXISTS',
      'already-exists',
      /hns failed with error : A network with this name already exists/,
    );
  });

  it('POST /endpoints/ (win-bridge v1) stores the v2 equivalent and reads back the same v1 policies', async () => {
    const hns = t.open();
    const net = await hns.v1.call<HnsV1Network>('POST', '/networks/', FLANNEL_HOSTGW);
    const body = winBridgeV1Endpoint(net.ID!);
    const ep = await hns.v1.call<HnsV1Endpoint>('POST', '/endpoints/', body);
    assert.deepEqual(ep.Policies, body.Policies);
    assert.equal(ep.IPAddress, '10.244.1.5');
    assert.equal(ep.PrefixLength, 24);
    assert.equal(ep.GatewayAddress, '10.244.1.2');
    assert.equal(ep.DNSSuffix, body.DNSSuffix);
    assert.equal(ep.VirtualNetworkName, 'cbr0');
    assert.equal(ep.State, 1);
    const v2 = await hns.getEndpoint(ep.ID!);
    assert.deepEqual(findPolicies(v2.Policies, 'PortMapping')[0].Settings, { Protocol: 6, InternalPort: 80, ExternalPort: 8080 });
    assert.deepEqual(findPolicies(v2.Policies, 'SDNRoute')[0].Settings, { DestinationPrefix: '10.96.0.0/12', NeedEncap: true });
    assert.deepEqual(v2.Dns, { ServerList: ['10.96.0.10'], Search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'] });
    assert.deepEqual(v2.Routes, [{ NextHop: '10.244.1.2', DestinationPrefix: '0.0.0.0/0' }]);
    const byName = (await hns.v1.call<HnsV1Endpoint[]>('GET', '/endpoints/')).filter((e) => e.Name === 'abc123_cbr0');
    assert.equal(byName.length, 1);
  });

  it('v1 create errors carry HNS v1 text and the HRESULT class', async () => {
    const hns = t.open();
    const net = await hns.v1.call<HnsV1Network>('POST', '/networks/', FLANNEL_HOSTGW);
    await rejectsWith(
      hns.v1.call('POST', '/endpoints/', { ...winBridgeV1Endpoint(net.ID!), IPAddress: '10.9.9.9' }),
      'HCN_E_INVALID_IP',
      'bad-input',
      /hns failed with error : The IP address is invalid/,
    );
    await rejectsWith(
      hns.v1.call('POST', '/endpoints/', { ...winBridgeV1Endpoint('3f1e0c5b-0000-4b9f-a3c4-6a7f0c6d5e11') }),
      'HCN_E_NETWORK_NOT_FOUND',
      'not-found',
    );
    await rejectsWith(
      hns.v1.call('GET', '/endpoints/3f1e0c5b-0000-4b9f-a3c4-6a7f0c6d5e11'),
      'ERROR_NOT_FOUND',
      'not-found',
      /hns failed with error : Element not found\./,
    );
    await rejectsWith(hns.v1.call('DELETE', '/networks/3f1e0c5b-0000-4b9f-a3c4-6a7f0c6d5e11'), 'ERROR_NOT_FOUND', 'not-found');
    await rejectsWith(hns.v1.call('GET', '/teleporters/'), 'HCN_E_REQUEST_UNSUPPORTED', 'unsupported');
    await rejectsWith(
      hns.v1.call('POST', '/networks/', '{"Name":'),
      'HCN_E_INVALID_JSON',
      'invalid-json',
      /hns failed with error : The JSON document is invalid/,
    );
    await rejectsWith(
      hns.v1.call('POST', '/policylists/', {
        References: [],
        Policies: [
          { Type: 'ELB', VIPs: ['1.1.1.1'] },
          { Type: 'ELB', VIPs: ['2.2.2.2'] },
        ],
      }),
      'E_INVALIDARG',
      'bad-input',
      /one policy list per frontend/,
    );
  });

  it('container attach (HNS POST attach, or the HCS network hot-add on a compute system) records SharedContainers (State 2)', async () => {
    const hns = t.open();
    const net = await hns.v1.call<HnsV1Network>('POST', '/networks/', FLANNEL_HOSTGW);
    const ep = await hns.v1.call<HnsV1Endpoint>('POST', '/endpoints/', winBridgeV1Endpoint(net.ID!));
    const attached = await hns.v1.call<HnsV1Endpoint>('POST', `/endpoints/${ep.ID}/attach`, {
      ContainerId: 'abc123',
      SystemType: 'Container',
    });
    assert.deepEqual(attached.SharedContainers, ['abc123']);
    assert.equal(attached.State, 2);
    await rejectsWith(
      hns.v1.call('POST', `/endpoints/${ep.ID}/attach`, { ContainerId: 'ABC123', SystemType: 'Container' }),
      'HCN_E_ENDPOINT_ALREADY_ATTACHED',
      'already-attached',
      /already attached to the switch/,
    );
    await hns.hcs.createComputeSystem('def456');
    await hns.v1.modifyContainerNetwork!('def456', ep.ID!, 'Add');
    assert.deepEqual((await hns.v1.call<HnsV1Endpoint>('GET', `/endpoints/${ep.ID}`)).SharedContainers, ['abc123', 'def456']);
    await hns.v1.call('POST', `/endpoints/${ep.ID}/detach`, { ContainerId: 'abc123', SystemType: 'Container' });
    await hns.v1.modifyContainerNetwork!('def456', ep.ID!, 'Remove');
    const after = await hns.v1.call<HnsV1Endpoint>('GET', `/endpoints/${ep.ID}`);
    assert.equal(after.SharedContainers, undefined);
    assert.equal(after.State, 1);
    await rejectsWith(
      hns.v1.call('POST', `/endpoints/${ep.ID}/detach`, { ContainerId: 'abc123', SystemType: 'Container' }),
      'HCN_E_ENDPOINT_NOT_ATTACHED',
    );
    await hns.v1.call('DELETE', `/endpoints/${ep.ID}`);
    await rejectsWith(hns.getEndpoint(ep.ID!), 'ERROR_NOT_FOUND', 'not-found');
  });

  it('host attach (flannel HostAttach(1)) puts the endpoint in the HostDefault namespace', async () => {
    const hns = t.open();
    const net = await hns.v1.call<HnsV1Network>('POST', '/networks/', FLANNEL_HOSTGW);
    const ep = await hns.v1.call<HnsV1Endpoint>('POST', '/endpoints/', {
      Name: 'cbr0_ep',
      VirtualNetwork: net.ID,
      IPAddress: '10.244.1.2',
    });
    const attached = await hns.v1.call<HnsV1Endpoint>('POST', `/endpoints/${ep.ID}/attach`, { SystemType: 'Host', CompartmentId: 1 });
    const [def] = await hns.listNamespaces(buildQuery({ IsDefault: true }));
    assert.equal(attached.Namespace!.ID, def.ID);
    assert.equal(attached.Namespace!.IsDefault, true);
    assert.deepEqual(def.Resources, [{ Type: 'Endpoint', Data: { ID: ep.ID } }]);
    await rejectsWith(
      hns.v1.call('POST', `/endpoints/${ep.ID}/attach`, { SystemType: 'Host', CompartmentId: 1 }),
      'HCN_E_ENDPOINT_ALREADY_ATTACHED',
      'already-attached',
    );
    await hns.v1.call('POST', `/endpoints/${ep.ID}/detach`, { SystemType: 'Host' });
    assert.deepEqual((await hns.getNamespace(def.ID!)).Resources, []);
  });

  it('POST /endpoints/<id> applies the posted policy list (hcsshim HNSEndpoint.Update)', async () => {
    const hns = t.open();
    const net = await hns.v1.call<HnsV1Network>('POST', '/networks/', FLANNEL_HOSTGW);
    const ep = await hns.v1.call<HnsV1Endpoint>('POST', '/endpoints/', {
      Name: 'x',
      VirtualNetwork: net.ID,
      Policies: [{ Type: 'OutBoundNAT', ExceptionList: ['10.96.0.0/12'] }],
    });
    const acl = { Type: 'ACL', Protocols: '6', Action: 'Block', Direction: 'In', LocalPorts: '22', RuleType: 'Switch', Priority: 100 };
    const updated = await hns.v1.call<HnsV1Endpoint>('POST', `/endpoints/${ep.ID}`, { ...ep, Policies: [acl] });
    assert.deepEqual(updated.Policies, [acl]);
    assert.deepEqual(findPolicies((await hns.getEndpoint(ep.ID!)).Policies, 'ACL')[0].Settings, {
      Protocols: '6',
      Action: 'Block',
      Direction: 'In',
      LocalPorts: '22',
      RuleType: 'Switch',
      Priority: 100,
    });
  });

  it('ELB policy lists are load balancers; ROUTE lists are kept as policy lists', async () => {
    const hns = t.open();
    const net = await hns.v1.call<HnsV1Network>('POST', '/networks/', FLANNEL_HOSTGW);
    const e1 = await hns.v1.call<HnsV1Endpoint>('POST', '/endpoints/', { Name: 'e1', VirtualNetwork: net.ID });
    const e2 = await hns.v1.call<HnsV1Endpoint>('POST', '/endpoints/', { Name: 'e2', VirtualNetwork: net.ID });
    const elb = {
      References: [`/endpoints/${e1.ID}`, `/endpoints/${e2.ID}`],
      Policies: [
        { Type: 'ELB', Protocol: 6, InternalPort: 80, ExternalPort: 80, SourceVIP: '10.244.1.254', VIPs: ['10.96.12.34'], ILB: false },
      ],
    };
    const pl = await hns.v1.call<HnsV1PolicyList>('POST', '/policylists/', elb);
    assert.deepEqual(pl.References, elb.References);
    assert.deepEqual(pl.Policies, elb.Policies);
    const lb = await hns.getLoadBalancer(pl.ID!);
    assert.deepEqual(lb.FrontendVIPs, ['10.96.12.34']);
    assert.deepEqual(lb.PortMappings, [{ Protocol: 6, InternalPort: 80, ExternalPort: 80 }]);
    const route = {
      References: [`/endpoints/${e1.ID}`],
      Policies: [{ Type: 'ROUTE', DestinationPrefix: '10.96.0.0/12', NeedEncap: true }],
    };
    const rl = await hns.v1.call<HnsV1PolicyList>('POST', '/policylists/', route);
    const all = await hns.v1.call<HnsV1PolicyList[]>('GET', '/policylists/');
    assert.deepEqual(all.map((p) => p.ID).sort(), [pl.ID, rl.ID].sort());
    await rejectsWith(
      hns.v1.call('POST', '/policylists/', { References: ['/endpoints/3f1e0c5b-0000-4b9f-a3c4-6a7f0c6d5e11'], Policies: elb.Policies }),
      'HCN_E_ENDPOINT_NOT_FOUND',
      'not-found',
    );
    await hns.v1.call('DELETE', `/policylists/${pl.ID}`);
    await hns.v1.call('DELETE', `/policylists/${rl.ID}`);
    assert.deepEqual(await hns.v1.call('GET', '/policylists/'), []);
    await rejectsWith(hns.v1.call('GET', `/policylists/${pl.ID}`), 'ERROR_NOT_FOUND', 'not-found');
  });

  it('namespaces: create, add/remove an endpoint resource, delete', async () => {
    const hns = t.open();
    const net = await hns.v1.call<HnsV1Network>('POST', '/networks/', FLANNEL_HOSTGW);
    const ep = await hns.v1.call<HnsV1Endpoint>('POST', '/endpoints/', { Name: 'e1', VirtualNetwork: net.ID });
    const ns = await hns.v1.call<{ ID: string; IsDefault: boolean; CompartmentId: number }>('POST', '/namespaces/', { IsDefault: false });
    assert.equal(ns.IsDefault, false);
    assert.equal(ns.CompartmentId, 2);
    const withEp = await hns.v1.call<{ ResourceList: unknown[] }>('POST', `/namespaces/${ns.ID}/addresource`, {
      Type: 'Endpoint',
      Data: { Id: ep.ID },
    });
    assert.deepEqual(withEp.ResourceList, [{ Type: 'Endpoint', Data: { ID: ep.ID } }]);
    assert.equal((await hns.getEndpoint(ep.ID!)).HostComputeNamespace, ns.ID);
    await hns.v1.call('POST', `/namespaces/${ns.ID}/removeresource`, { Type: 'Endpoint', Data: { Id: ep.ID } });
    const listed = await hns.v1.call<{ IsDefault: boolean }[]>('GET', '/namespaces/');
    assert.deepEqual(
      listed.map((n) => n.IsDefault),
      [true, false],
    );
    await hns.v1.call('DELETE', `/namespaces/${ns.ID}`);
    await rejectsWith(hns.v1.call('GET', `/namespaces/${ns.ID}`), 'ERROR_NOT_FOUND', 'not-found');
  });
});

describe('V1OverV2 over a data plane without embedded v1 records (FileV1SideStore)', () => {
  let t: TempState;
  beforeEach(() => {
    t = tempState();
  });
  afterEach(() => t.cleanup());

  it('keeps SharedContainers and ROUTE lists in the side file and forgets them with the endpoint', async () => {
    const hns = t.open();
    const sideFile = path.join(t.dir, 'side', 'v1.json');
    const v1 = new V1OverV2(hns, new FileV1SideStore(sideFile, () => randomUUID()));
    const net = await v1.call<HnsV1Network>('POST', '/networks/', FLANNEL_HOSTGW);
    const ep = await v1.call<HnsV1Endpoint>('POST', '/endpoints/', { Name: 'e1', VirtualNetwork: net.ID });
    const attached = await v1.call<HnsV1Endpoint>('POST', `/endpoints/${ep.ID}/attach`, { ContainerId: 'abc123', SystemType: 'Container' });
    assert.deepEqual(attached.SharedContainers, ['abc123']);
    assert.equal(attached.State, 2);
    assert.equal((await hns.getEndpoint(ep.ID!)).Health, undefined, 'the v2 object is untouched');
    assert.deepEqual(JSON.parse(fs.readFileSync(sideFile, 'utf8')).SharedContainers, { [ep.ID!]: ['abc123'] });
    await rejectsWith(
      v1.call('POST', `/endpoints/${ep.ID}/attach`, { ContainerId: 'abc123', SystemType: 'Container' }),
      'HCN_E_ENDPOINT_ALREADY_ATTACHED',
      'already-attached',
    );
    const rl = await v1.call<HnsV1PolicyList>('POST', '/policylists/', {
      References: [`/endpoints/${ep.ID}`],
      Policies: [{ Type: 'ROUTE', DestinationPrefix: '10.96.0.0/12', NeedEncap: true }],
    });
    assert.deepEqual(
      (await v1.call<HnsV1PolicyList[]>('GET', '/policylists/')).map((p) => p.ID),
      [rl.ID],
    );
    await rejectsWith(
      v1.call('POST', '/policylists/', {
        References: ['/endpoints/3f1e0c5b-0000-4b9f-a3c4-6a7f0c6d5e11'],
        Policies: [{ Type: 'ROUTE', DestinationPrefix: '10.0.0.0/8' }],
      }),
      'HCN_E_ENDPOINT_NOT_FOUND',
      'not-found',
    );
    await v1.call('DELETE', `/endpoints/${ep.ID}`);
    assert.deepEqual(JSON.parse(fs.readFileSync(sideFile, 'utf8')).SharedContainers, {});
    await v1.call('DELETE', `/policylists/${rl.ID}`);
    await rejectsWith(v1.call('DELETE', `/policylists/${rl.ID}`), 'ERROR_NOT_FOUND', 'not-found');
  });

  it('a corrupt side file is an error naming it', async () => {
    const hns = t.open();
    const sideFile = path.join(t.dir, 'v1.json');
    fs.writeFileSync(sideFile, '[1,2');
    const v1 = new V1OverV2(hns, new FileV1SideStore(sideFile, () => randomUUID()));
    await assert.rejects(v1.call('GET', '/policylists/'), new RegExp(`${sideFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is corrupt`));
  });
});
