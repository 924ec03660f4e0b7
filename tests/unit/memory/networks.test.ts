import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { buildQuery, findPolicies, type HostComputeNetwork } from '../../../src/hns';
import { GUID_UPPER, l2bridge, overlay, rejectsWith, tempState, type TempState } from './helpers';

describe('memory data plane: networks', () => {
  let t: TempState;
  beforeEach(() => {
    t = tempState();
  });
  afterEach(() => t.cleanup());

  it('assigns an upper-case GUID, sets SchemaVersion and persists the network', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge());
    assert.match(net.ID!, GUID_UPPER);
    assert.deepEqual(net.SchemaVersion, { Major: 2, Minor: 0 });
    assert.equal(net.Type, 'L2Bridge');
    assert.match(net.Ipams![0].Subnets![0].ID!, GUID_UPPER);
    const again = await t.open().getNetwork(net.ID!.toLowerCase());
    assert.deepEqual(again, net);
    assert.ok(fs.existsSync(t.statePath));
  });

  it('canonicalizes the network type case-insensitively and omits Type for NAT like HNS', async () => {
    const hns = t.open();
    const o = await hns.createNetwork({ ...overlay(), Type: 'overlay' });
    assert.equal(o.Type, 'Overlay');
    const nat = await hns.createNetwork({ Name: 'nat', Type: 'nat', SchemaVersion: { Major: 2, Minor: 0 } });
    assert.equal(nat.Type, undefined);
    const found = await hns.listNetworks(buildQuery({ Type: 'NAT' }));
    assert.deepEqual(
      found.map((n) => n.Name),
      ['nat'],
    );
  });

  it('publishes ProviderAddress and DrMacAddress on Overlay networks from the emulated host', async () => {
    const hns = t.open(undefined, { SWITCHYARD_EMULATOR_MANAGEMENT_IP: '10.0.0.4', SWITCHYARD_EMULATOR_DR_MAC: '00-15-5D-AA-BB-CC' });
    const net = await hns.createNetwork(overlay());
    assert.deepEqual(findPolicies(net.Policies, 'ProviderAddress')[0].Settings, { ProviderAddress: '10.0.0.4' });
    assert.deepEqual(findPolicies(net.Policies, 'DrMacAddress')[0].Settings, { Address: '00-15-5D-AA-BB-CC' });
    const host = await hns.host();
    assert.equal(host.ManagementIP, '10.0.0.4');
  });

  it('refuses an unknown network type with HCN_E_INVALID_NETWORK_TYPE', async () => {
    const hns = t.open();
    await rejectsWith(hns.createNetwork({ ...l2bridge(), Type: 'Bridgey' }), 'HCN_E_INVALID_NETWORK_TYPE', 'bad-input', /Bridgey/);
    assert.deepEqual(await hns.listNetworks(), []);
  });

  it('refuses a duplicate name with HCN_E_NETWORK_ALREADY_EXISTS', async () => {
    const hns = t.open();
    await hns.createNetwork(l2bridge('cbr0'));
    await rejectsWith(hns.createNetwork(l2bridge('cbr0', '10.244.2.0/24', '10.244.2.1')), 'HCN_E_NETWORK_ALREADY_EXISTS', 'already-exists');
    assert.equal((await hns.listNetworks()).length, 1);
  });

  it('validates subnets: CIDR syntax, prefix length, host bits, next hop inside, no overlap', async () => {
    const hns = t.open();
    await rejectsWith(hns.createNetwork(l2bridge('a', 'banana', '10.0.0.1')), 'HCN_E_INVALID_SUBNET', 'bad-input', /banana/);
    await rejectsWith(hns.createNetwork(l2bridge('b', '10.244.1.0/33', '10.244.1.1')), 'HCN_E_INVALID_PREFIX', 'bad-input');
    await rejectsWith(hns.createNetwork(l2bridge('c', '10.244.1.5/24', '10.244.1.1')), 'HCN_E_INVALID_PREFIX', 'bad-input', /host bits/);
    await rejectsWith(
      hns.createNetwork(l2bridge('d', '10.244.1.0/24', '10.244.2.1')),
      'HCN_E_INVALID_SUBNET',
      'bad-input',
      /NextHop "10.244.2.1" is outside/,
    );
    const two = l2bridge('e');
    two.Ipams![0].Subnets!.push({ IpAddressPrefix: '10.244.1.128/25' });
    await rejectsWith(hns.createNetwork(two), 'HCN_E_INVALID_SUBNET', 'bad-input', /overlap/);
    assert.deepEqual(await hns.listNetworks(), [], 'a refused network leaves nothing behind');
  });

  it('accepts a v1-shaped document (HcnCreateNetwork takes v1 JSON)', async () => {
    const hns = t.open();
    const net = await hns.createNetwork({
      Name: 'flannel.4096',
      Type: 'Overlay',
      NetworkAdapterName: 'Ethernet',
      Subnets: [{ AddressPrefix: '10.244.1.0/24', GatewayAddress: '10.244.1.1', Policies: [{ Type: 'VSID', VSID: 4096 }] }],
    } as unknown as HostComputeNetwork);
    const sub = net.Ipams![0].Subnets![0];
    assert.equal(sub.IpAddressPrefix, '10.244.1.0/24');
    assert.deepEqual(sub.Routes, [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }]);
    assert.deepEqual(sub.Policies, [{ Type: 'VSID', Settings: { IsolationId: 4096 } }]);
    assert.deepEqual(findPolicies(net.Policies, 'NetAdapterName')[0].Settings, { NetworkAdapterName: 'Ethernet' });
  });

  it('get of an unknown ID is not-found; a non-GUID is HCN_E_GUID_CONVERSION_FAILURE', async () => {
    const hns = t.open();
    await rejectsWith(hns.getNetwork('6e3b7b43-3a0b-4c36-9d4d-1b3f7c0f1a22'), 'ERROR_NOT_FOUND', 'not-found');
    await rejectsWith(hns.getNetwork('cbr0'), 'HCN_E_GUID_CONVERSION_FAILURE', 'bad-input');
    await rejectsWith(hns.deleteNetwork('6e3b7b43-3a0b-4c36-9d4d-1b3f7c0f1a22'), 'ERROR_NOT_FOUND', 'not-found');
  });

  it('honours a caller-chosen ID and refuses to reuse it', async () => {
    const hns = t.open();
    const id = '6e3b7b43-3a0b-4c36-9d4d-1b3f7c0f1a22';
    const net = await hns.createNetwork({ ...l2bridge(), ID: id });
    assert.equal(net.ID, id.toUpperCase());
    await rejectsWith(
      hns.createNetwork({ ...l2bridge('other', '10.9.0.0/24', '10.9.0.1'), ID: id }),
      'ERROR_ALREADY_EXISTS',
      'already-exists',
    );
  });

  it('lists with Filter ID (case-insensitive), Name and Type; no match is [], a malformed Filter HCN_E_INVALID_JSON', async () => {
    const hns = t.open();
    const a = await hns.createNetwork(l2bridge('a', '10.1.0.0/24', '10.1.0.1'));
    await hns.createNetwork(overlay('b', '10.2.0.0/24', '10.2.0.1'));
    assert.deepEqual(
      (await hns.listNetworks(buildQuery({ ID: a.ID!.toLowerCase() }))).map((n) => n.Name),
      ['a'],
    );
    assert.deepEqual(
      (await hns.listNetworks(buildQuery({ Name: 'b' }))).map((n) => n.Name),
      ['b'],
    );
    assert.deepEqual(
      (await hns.listNetworks(buildQuery({ Type: 'overlay' }))).map((n) => n.Name),
      ['b'],
    );
    assert.deepEqual(await hns.listNetworks(buildQuery({ Name: 'nope' })), []);
    await rejectsWith(
      hns.listNetworks({ SchemaVersion: { Major: 2, Minor: 0 }, Flags: 0, Filter: '{not json' }),
      'HCN_E_INVALID_JSON',
      'invalid-json',
    );
  });

  it('returns v1-shaped networks for a SchemaVersion 1.0 query', async () => {
    const hns = t.open(undefined, { SWITCHYARD_EMULATOR_MANAGEMENT_IP: '10.0.0.4' });
    await hns.createNetwork(overlay());
    const [v1] = (await hns.listNetworks(buildQuery(undefined, 0, { Major: 1, Minor: 0 }))) as unknown as Record<string, unknown>[];
    assert.equal(v1.ManagementIP, '10.0.0.4');
    assert.deepEqual(v1.Subnets, [
      {
        ID: (v1.Subnets as { ID: string }[])[0].ID,
        AddressPrefix: '10.244.1.0/24',
        GatewayAddress: '10.244.1.1',
        Policies: [{ Type: 'VSID', VSID: 4096 }],
      },
    ]);
  });

  it('adds and removes RemoteSubnetRoute by content, as flannel does', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(overlay());
    const route = {
      Type: 'RemoteSubnetRoute',
      Settings: {
        DestinationPrefix: '10.244.2.0/24',
        IsolationId: 4096,
        ProviderAddress: '192.168.0.11',
        DistributedRouterMacAddress: '00:15:5d:bb:6e:c2',
      },
    };
    const added = await hns.modifyNetwork(net.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [route] } });
    assert.equal(findPolicies(added.Policies, 'RemoteSubnetRoute').length, 1);
    // A second route for the same prefix must wait until the old one is removed.
    const moved = { ...route, Settings: { ...route.Settings, ProviderAddress: '192.168.0.12' } };
    await rejectsWith(
      hns.modifyNetwork(net.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [moved] } }),
      'HCN_E_POLICY_ALREADY_EXISTS',
      'already-exists',
    );
    // Removal matches on content, MAC spelling aside.
    const sentBack = { Type: 'remotesubnetroute', Settings: { ...route.Settings, DistributedRouterMacAddress: '00-15-5D-BB-6E-C2' } };
    const removed = await hns.modifyNetwork(net.ID!, { ResourceType: 'Policy', RequestType: 'Remove', Settings: { Policies: [sentBack] } });
    assert.equal(findPolicies(removed.Policies, 'RemoteSubnetRoute').length, 0);
    await rejectsWith(
      hns.modifyNetwork(net.ID!, { ResourceType: 'Policy', RequestType: 'Remove', Settings: { Policies: [route] } }),
      'HCN_E_POLICY_NOT_FOUND',
      'not-found',
    );
    const host = await hns.modifyNetwork(net.ID!, {
      ResourceType: 'Policy',
      RequestType: 'Add',
      Settings: { Policies: [{ Type: 'HostRoute', Settings: {} }] },
    });
    assert.equal(findPolicies(host.Policies, 'HostRoute').length, 1);
    assert.equal(findPolicies((await hns.getNetwork(net.ID!)).Policies, 'HostRoute').length, 1, 'persisted');
  });

  it('checks RemoteSubnetRoute settings with HCN_E_INVALID_POLICY', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(overlay());
    const bad = {
      Type: 'RemoteSubnetRoute',
      Settings: {
        DestinationPrefix: '10.244.2.0/24',
        IsolationId: 4096,
        ProviderAddress: 'nope',
        DistributedRouterMacAddress: '00:15:5d:bb:6e:c2',
      },
    };
    await rejectsWith(
      hns.modifyNetwork(net.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [bad] } }),
      'HCN_E_INVALID_POLICY',
      'bad-input',
      /ProviderAddress/,
    );
  });

  it('gates RemoteSubnetRoute and HostRoute on the emulated HNS version, naming the minimum', async () => {
    const hns = t.open({ Major: 9, Minor: 1 });
    const net = await hns.createNetwork(overlay());
    const route = {
      Type: 'RemoteSubnetRoute',
      Settings: {
        DestinationPrefix: '10.244.2.0/24',
        IsolationId: 4096,
        ProviderAddress: '192.168.0.11',
        DistributedRouterMacAddress: '00-15-5D-BB-6E-C2',
      },
    };
    await rejectsWith(
      hns.modifyNetwork(net.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [route] } }),
      'HCN_E_INVALID_POLICY_TYPE',
      'bad-input',
      /needs HNS 9\.2 or later.*HNS 9\.1/,
    );
    await rejectsWith(
      hns.modifyNetwork(net.ID!, {
        ResourceType: 'Policy',
        RequestType: 'Add',
        Settings: { Policies: [{ Type: 'HostRoute', Settings: {} }] },
      }),
      'HCN_E_INVALID_POLICY_TYPE',
      'bad-input',
      /9\.2/,
    );
    const vx = { ...overlay('vx', '10.3.0.0/24', '10.3.0.1'), Policies: [{ Type: 'VxlanPort', Settings: { Port: 4789 } }] };
    await rejectsWith(hns.createNetwork(vx), 'HCN_E_INVALID_POLICY_TYPE', 'bad-input', /10\.3/);
    assert.deepEqual(await hns.version(), { Major: 9, Minor: 1 });
    assert.equal((await hns.features()).RemoteSubnet, false);
  });

  it('refuses to delete a network that still has endpoints (HCN_E_ENTITY_HAS_REFERENCES)', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge());
    const ep = await hns.createEndpoint(net.ID!, { Name: 'pod_cbr0' });
    await rejectsWith(hns.deleteNetwork(net.ID!), 'HCN_E_ENTITY_HAS_REFERENCES', 'in-use', /pod_cbr0/);
    await hns.deleteEndpoint(ep.ID!);
    await hns.deleteNetwork(net.ID!);
    await rejectsWith(hns.getNetwork(net.ID!), 'ERROR_NOT_FOUND', 'not-found');
  });

  it('updates DNS, toggles extensions and adds/removes subnets', async () => {
    const hns = t.open();
    const net = await hns.createNetwork(l2bridge());
    const dns = await hns.modifyNetwork(net.ID!, {
      ResourceType: 'DNS',
      RequestType: 'Update',
      Settings: { ServerList: ['10.96.0.10'], Search: ['svc.cluster.local'] },
    });
    assert.deepEqual(dns.Dns, { ServerList: ['10.96.0.10'], Search: ['svc.cluster.local'] });
    const ext = await hns.modifyNetwork(net.ID!, {
      ResourceType: 'Extension',
      RequestType: 'Update',
      Settings: { Id: 'e7c3b2f0-f3c5-48df-af2b-10fed6d72e7a', IsEnabled: true },
    });
    assert.deepEqual(findPolicies(ext.Policies, 'VSwitchExtension')[0].Settings, {
      ExtensionID: 'E7C3B2F0-F3C5-48DF-AF2B-10FED6D72E7A',
      Enable: true,
    });
    const added = await hns.modifyNetwork(net.ID!, {
      ResourceType: 'Subnet',
      RequestType: 'Add',
      Settings: { Subnets: [{ IpAddressPrefix: '10.245.0.0/24' }] },
    });
    assert.equal(added.Ipams![0].Subnets!.length, 2);
    await rejectsWith(
      hns.modifyNetwork(net.ID!, {
        ResourceType: 'Subnet',
        RequestType: 'Add',
        Settings: { Subnets: [{ IpAddressPrefix: '10.245.0.0/16' }] },
      }),
      'HCN_E_INVALID_SUBNET',
      'bad-input',
      /overlap/,
    );
    await hns.createEndpoint(net.ID!, { IpConfigurations: [{ IpAddress: '10.245.0.7' }] });
    await rejectsWith(
      hns.modifyNetwork(net.ID!, {
        ResourceType: 'Subnet',
        RequestType: 'Remove',
        Settings: { Subnets: [{ IpAddressPrefix: '10.245.0.0/24' }] },
      }),
      'HCN_E_ENTITY_HAS_REFERENCES',
      'in-use',
    );
  });
});
