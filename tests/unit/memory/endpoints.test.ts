import * as assert from 'node:assert/strict';
import { buildQuery, findPolicies, type HostComputeEndpoint } from '../../../src/hns';
import { GUID_UPPER, l2bridge, overlay, rejectsWith, tempState, type TempState } from './helpers';

const portMapping = (external: number, protocol = 6, vip = '') => ({
  Type: 'PortMapping',
  Settings: { InternalPort: 80, ExternalPort: external, Protocol: protocol, VIP: vip },
});

describe('memory data plane: endpoints', () => {
  let t: TempState;
  beforeEach(() => {
    t = tempState();
  });
  afterEach(() => t.cleanup());

  it('creates the endpoint win-bridge v2 sends and returns it as HNS stores it', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge());
    const doc: HostComputeEndpoint = {
      Name: 'abc123_cbr0',
      HostComputeNetwork: net.ID,
      Policies: [
        { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12'] } },
        { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } },
        { Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 8080, Protocol: 6, VIP: '' } },
        { Type: 'OutBoundNAT', Settings: { Destinations: ['10.244.1.5'] } },
      ],
      IpConfigurations: [{ IpAddress: '10.244.1.5' }],
      Dns: { Search: ['default.svc.cluster.local'], ServerList: ['10.96.0.10'] },
      Routes: [{ NextHop: '10.244.1.2', DestinationPrefix: '0.0.0.0/0' }],
      Health: { Extra: {} },
      SchemaVersion: { Major: 2, Minor: 0 },
    };
    const ep = await hns.createEndpoint(net.ID!, doc);
    assert.match(ep.ID!, GUID_UPPER);
    assert.equal(ep.HostComputeNetwork, net.ID);
    assert.deepEqual(ep.IpConfigurations, [{ IpAddress: '10.244.1.5', PrefixLength: 24 }], 'PrefixLength filled from the subnet');
    assert.match(ep.MacAddress!, /^00-15-5D-[0-9A-F]{2}-[0-9A-F]{2}-[0-9A-F]{2}$/);
    assert.deepEqual(ep.Policies, doc.Policies);
    assert.deepEqual(await hns.getEndpoint(ep.ID!), ep);
  });

  it('assigns the next free address, skipping network, gateway and used addresses', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge('cbr0', '10.244.1.0/29', '10.244.1.1'));
    const ips: string[] = [];
    for (let i = 0; i < 5; i++) ips.push((await hns.createEndpoint(net.ID!, {})).IpConfigurations![0].IpAddress!);
    assert.deepEqual(ips, ['10.244.1.2', '10.244.1.3', '10.244.1.4', '10.244.1.5', '10.244.1.6']);
    await rejectsWith(
      hns.createEndpoint(net.ID!, { IpConfigurations: [{}] }),
      'HCN_E_ADDR_INVALID_OR_RESERVED',
      'bad-input',
      /no free address/,
    );
    assert.equal((await hns.listEndpoints()).length, 5);
  });

  it('assigns one address per family on a dual-stack network', async () => {
    const hns = t.open();
    const doc = l2bridge();
    doc.Ipams![0].Subnets!.push({ IpAddressPrefix: 'fd00:244:1::/64', Routes: [{ NextHop: 'fd00:244:1::1', DestinationPrefix: '::/0' }] });
    const net = await hns.createNetwork(doc);
    const ep = await hns.createEndpoint(net.ID!, { IpConfigurations: [{}, {}] });
    assert.deepEqual(ep.IpConfigurations, [
      { IpAddress: '10.244.1.2', PrefixLength: 24 },
      { IpAddress: 'fd00:244:1::2', PrefixLength: 64 },
    ]);
    const v6only = await hns.createEndpoint(net.ID!, { IpConfigurations: [{ IpAddress: 'fd00:244:1::9' }] });
    assert.deepEqual(v6only.IpConfigurations, [{ IpAddress: 'fd00:244:1::9', PrefixLength: 64 }]);
    await rejectsWith(hns.createEndpoint(net.ID!, { IpConfigurations: [{ IpAddress: 'fd00:244:2::9' }] }), 'HCN_E_INVALID_IP', 'bad-input');
  });

  it('keeps a given MAC and assigns distinct ones otherwise', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(overlay());
    const a = await hns.createEndpoint(net.ID!, { MacAddress: '0E-2A-0a-f4-01-05', IpConfigurations: [{ IpAddress: '10.244.1.5' }] });
    assert.equal(a.MacAddress, '0E-2A-0a-f4-01-05');
    const b = await hns.createEndpoint(net.ID!, {});
    const c = await hns.createEndpoint(net.ID!, {});
    assert.notEqual(b.MacAddress, c.MacAddress);
    await rejectsWith(hns.createEndpoint(net.ID!, { MacAddress: 'zz-zz' }), 'E_INVALIDARG', 'bad-input', /MacAddress/);
  });

  it('needs an existing network (HCN_E_NETWORK_NOT_FOUND)', async () => {
    const hns = t.open();
    await rejectsWith(hns.createEndpoint('0c2bd6e1-56c1-4b9f-a3c4-6a7f0c6d5e11', { Name: 'x' }), 'HCN_E_NETWORK_NOT_FOUND', 'not-found');
  });

  it('refuses HostComputeNamespace on create (E_INVALIDARG)', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge());
    const ns = await hns.createNamespace({});
    await rejectsWith(hns.createEndpoint(net.ID!, { HostComputeNamespace: ns.ID }), 'E_INVALIDARG', 'bad-input', /read only/);
    assert.deepEqual(await hns.listEndpoints(), []);
  });

  it('refuses an address outside the subnets (HCN_E_INVALID_IP) and a used or reserved one (HCN_E_ADDR_INVALID_OR_RESERVED)', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge());
    await rejectsWith(
      hns.createEndpoint(net.ID!, { IpConfigurations: [{ IpAddress: '10.9.9.9' }] }),
      'HCN_E_INVALID_IP',
      'bad-input',
      /10\.244\.1\.0\/24/,
    );
    await rejectsWith(hns.createEndpoint(net.ID!, { IpConfigurations: [{ IpAddress: 'not-an-ip' }] }), 'HCN_E_INVALID_IP', 'bad-input');
    await hns.createEndpoint(net.ID!, { Name: 'first', IpConfigurations: [{ IpAddress: '10.244.1.7' }] });
    await rejectsWith(
      hns.createEndpoint(net.ID!, { IpConfigurations: [{ IpAddress: '10.244.1.7' }] }),
      'HCN_E_ADDR_INVALID_OR_RESERVED',
      'bad-input',
      /used by endpoint first/,
    );
    await rejectsWith(
      hns.createEndpoint(net.ID!, { IpConfigurations: [{ IpAddress: '10.244.1.1' }] }),
      'HCN_E_ADDR_INVALID_OR_RESERVED',
      'bad-input',
      /gateway/,
    );
    await rejectsWith(
      hns.createEndpoint(net.ID!, { IpConfigurations: [{ IpAddress: '10.244.1.255' }] }),
      'HCN_E_ADDR_INVALID_OR_RESERVED',
      'bad-input',
    );
    assert.equal((await hns.listEndpoints()).length, 1);
  });

  it('refuses a host port another local endpoint maps (HCN_E_PORT_ALREADY_EXISTS)', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge());
    await hns.createEndpoint(net.ID!, { Name: 'web', Policies: [portMapping(8080)] });
    await rejectsWith(
      hns.createEndpoint(net.ID!, { Name: 'web2', Policies: [portMapping(8080)] }),
      'HCN_E_PORT_ALREADY_EXISTS',
      'port-in-use',
      /8080\/TCP.*web/,
    );
    await rejectsWith(
      hns.createEndpoint(net.ID!, { Policies: [portMapping(8080, 6, '10.0.0.4')] }),
      'HCN_E_PORT_ALREADY_EXISTS',
      'port-in-use',
    );
    await rejectsWith(
      hns.createEndpoint(net.ID!, { Policies: [portMapping(9090), portMapping(9090)] }),
      'HCN_E_PORT_ALREADY_EXISTS',
      'port-in-use',
      /twice/,
    );
    await hns.createEndpoint(net.ID!, { Policies: [portMapping(8080, 17)] });
    await rejectsWith(
      hns.createEndpoint(net.ID!, { Policies: [{ Type: 'PortMapping', Settings: { InternalPort: 0, ExternalPort: 7000, Protocol: 6 } }] }),
      'HCN_E_INVALID_INTERNAL_PORT',
      'bad-input',
    );
    assert.equal((await hns.listEndpoints()).length, 2);
  });

  it('refuses unknown policy types and gates version-dependent ones', async () => {
    const hns = t.open({ Major: 13, Minor: 1 });
    const net = await hns.createNetwork(l2bridge());
    await rejectsWith(
      hns.createEndpoint(net.ID!, { Policies: [{ Type: 'Teleport', Settings: {} }] }),
      'HCN_E_INVALID_POLICY_TYPE',
      'bad-input',
      /Teleport/,
    );
    await rejectsWith(
      hns.createEndpoint(net.ID!, { Policies: [{ Type: 'TierAcl', Settings: { Name: 'x', Direction: 'In', TierAclRules: [] } }] }),
      'HCN_E_INVALID_POLICY_TYPE',
      'bad-input',
      /14\.0/,
    );
    const ep = await hns.createEndpoint(net.ID!, {
      Policies: [{ Type: 'sdnroute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } }],
    });
    assert.equal(ep.Policies![0].Type, 'SDNRoute', 'policy types are matched case-insensitively and stored in hcsshim spelling');
  });

  it('checks policy settings (HCN_E_INVALID_POLICY) and refuses VM port requests', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge());
    await rejectsWith(
      hns.createEndpoint(net.ID!, { Policies: [{ Type: 'ACL', Settings: { Action: 'Maybe', Direction: 'In' } }] }),
      'HCN_E_INVALID_POLICY',
      'bad-input',
      /Action/,
    );
    await rejectsWith(
      hns.createEndpoint(net.ID!, {
        Policies: [{ Type: 'PortMapping', Settings: { Protocol: 'tcp', InternalPort: 80, ExternalPort: 80 } }],
      }),
      'HCN_E_INVALID_POLICY',
      'bad-input',
      /Protocol must be a protocol number/,
    );
    await rejectsWith(
      hns.createEndpoint(net.ID!, { Policies: [{ Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0' } }] }),
      'HCN_E_INVALID_POLICY',
      'bad-input',
      /DestinationPrefix/,
    );
    await rejectsWith(
      hns.createEndpoint(net.ID!, { Policies: [{ Type: 'OutBoundNAT', Settings: { Exceptions: '10.96.0.0/12' } }] }),
      'HCN_E_INVALID_POLICY',
      'bad-input',
      /Exceptions must be an array/,
    );
    const ep = await hns.createEndpoint(net.ID!, {});
    await rejectsWith(
      hns.modifyEndpoint(ep.ID!, { ResourceType: 'Port', RequestType: 'Add', Settings: { PortId: 'x' } }),
      'HCN_E_REQUEST_UNSUPPORTED',
      'unsupported',
    );
    await rejectsWith(
      hns.modifyEndpoint(ep.ID!, { ResourceType: 'Policy', RequestType: 'Refresh', Settings: { Policies: [] } }),
      'E_INVALIDARG',
      'bad-input',
      /Refresh/,
    );
  });

  it('allows a remote endpoint (Flags 1) outside the local subnet, with no namespace', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(overlay());
    const remote = await hns.createEndpoint(net.ID!, {
      IpConfigurations: [{ IpAddress: '10.244.2.7' }],
      MacAddress: '02-11-0a-f4-02-07',
      Flags: 1,
      Policies: [{ Type: 'ProviderAddress', Settings: { ProviderAddress: '192.168.0.11' } }],
    });
    assert.equal(remote.Flags, 1);
    assert.equal(remote.HostComputeNamespace, undefined);
    const ns = await hns.createNamespace({});
    await rejectsWith(hns.attachEndpoint(ns.ID!, remote.ID!), 'HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION');
  });

  it('modifies endpoint policies: Add, Update (replace by type), Remove (by content)', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge());
    const other = await hns.createEndpoint(net.ID!, { Policies: [portMapping(8080)] });
    const ep = await hns.createEndpoint(net.ID!, {});
    const acl = (port: string) => ({
      Type: 'ACL',
      Settings: { Protocols: '6', Action: 'Allow', Direction: 'In', LocalPorts: port, RuleType: 'Switch', Priority: 200 },
    });
    let cur = await hns.modifyEndpoint(ep.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [acl('80')] } });
    assert.equal(findPolicies(cur.Policies, 'ACL').length, 1);
    cur = await hns.modifyEndpoint(ep.ID!, {
      ResourceType: 'Policy',
      RequestType: 'Update',
      Settings: { Policies: [acl('443'), acl('8443')] },
    });
    assert.deepEqual(
      findPolicies(cur.Policies, 'ACL').map((p) => (p.Settings as { LocalPorts: string }).LocalPorts),
      ['443', '8443'],
    );
    cur = await hns.modifyEndpoint(ep.ID!, { ResourceType: 'Policy', RequestType: 'Remove', Settings: { Policies: [acl('443')] } });
    assert.deepEqual(
      findPolicies(cur.Policies, 'ACL').map((p) => (p.Settings as { LocalPorts: string }).LocalPorts),
      ['8443'],
    );
    await rejectsWith(
      hns.modifyEndpoint(ep.ID!, { ResourceType: 'Policy', RequestType: 'Remove', Settings: { Policies: [acl('443')] } }),
      'HCN_E_POLICY_NOT_FOUND',
      'not-found',
    );
    await rejectsWith(
      hns.modifyEndpoint(ep.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [portMapping(8080)] } }),
      'HCN_E_PORT_ALREADY_EXISTS',
      'port-in-use',
    );
    assert.deepEqual((await hns.getEndpoint(ep.ID!)).Policies, cur.Policies, 'a refused modify changes nothing');
    await hns.deleteEndpoint(other.ID!);
    await hns.modifyEndpoint(ep.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [portMapping(8080)] } });
  });

  it('lists endpoints of a network by VirtualNetwork / HostComputeNetwork, case-insensitively, and in v1 shape', async () => {
    const hns = t.open();
    const a = await hns.createNetwork(l2bridge('a', '10.1.0.0/24', '10.1.0.1'));
    const b = await hns.createNetwork(l2bridge('b', '10.2.0.0/24', '10.2.0.1'));
    await hns.createEndpoint(a.ID!, { Name: 'a1' });
    await hns.createEndpoint(a.ID!, { Name: 'a2' });
    await hns.createEndpoint(b.ID!, { Name: 'b1' });
    assert.deepEqual(
      (await hns.listEndpoints(buildQuery({ VirtualNetwork: a.ID!.toLowerCase() }))).map((e) => e.Name),
      ['a1', 'a2'],
    );
    assert.deepEqual(
      (await hns.listEndpoints(buildQuery({ HostComputeNetwork: b.ID! }))).map((e) => e.Name),
      ['b1'],
    );
    assert.deepEqual(
      (await hns.listEndpoints(buildQuery({ Name: 'a2' }))).map((e) => e.Name),
      ['a2'],
    );
    const v1 = (await hns.listEndpoints(buildQuery({ Name: 'b1' }, 0, { Major: 1, Minor: 0 }))) as unknown as Record<string, unknown>[];
    assert.equal(v1[0].VirtualNetwork, b.ID);
    assert.equal(v1[0].VirtualNetworkName, 'b');
    assert.equal(v1[0].IPAddress, '10.2.0.2');
    assert.equal(v1[0].State, 1);
  });

  it('delete is not idempotent (HNS answers not-found the second time)', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge());
    const ep = await hns.createEndpoint(net.ID!, {});
    await hns.deleteEndpoint(ep.ID!);
    await rejectsWith(hns.deleteEndpoint(ep.ID!), 'ERROR_NOT_FOUND', 'not-found');
    await rejectsWith(hns.getEndpoint(ep.ID!), 'ERROR_NOT_FOUND', 'not-found');
  });
});
