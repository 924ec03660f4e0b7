/** The policy registry: one descriptor per type, read by the validator, the emulator, the feature table and the CLI. */
import { strict as assert } from 'node:assert';
import { ENDPOINT_POLICIES, NETWORK_POLICIES, SUBNET_POLICIES, policyDescriptor, policyTypesOf } from '../../../src/hns/policies';
import { validateEndpoint, validateEndpointModify, validateNetwork } from '../../../src/hns/validate';
import { endpointNeeds, networkNeeds } from '../../../src/hns/features';
import { rejectsWith, tempState, l2bridge } from '../memory/helpers';

describe('policy registry', () => {
  it('lists every network (hcsshim/HNS_Schema) and endpoint policy type and the subnet isolation types, each once per scope', () => {
    assert.deepEqual(policyTypesOf('network'), [
      'SourceMacAddress',
      'NetAdapterName',
      'InterfaceConstraint',
      'VSwitchExtension',
      'ProviderAddress',
      'DrMacAddress',
      'AutomaticDNS',
      'RemoteSubnetRoute',
      'VxlanPort',
      'HostRoute',
      'SetPolicy',
      'L4Proxy',
      'LayerConstraint',
      'NetworkACL',
    ]);
    assert.deepEqual(policyTypesOf('endpoint'), [
      'PortMapping',
      'ACL',
      'QOS',
      'L2Driver',
      'OutBoundNAT',
      'SDNRoute',
      'L4Proxy',
      'L4WFPPROXY',
      'PortName',
      'EncapOverhead',
      'Iov',
      'ProviderAddress',
      'InterfaceConstraint',
      'TierAcl',
      'VLAN',
      'InterfaceParameters',
      'Encryption',
    ]);
    assert.deepEqual(policyTypesOf('subnet'), ['VSID', 'VLAN']);
    for (const list of [NETWORK_POLICIES, ENDPOINT_POLICIES, SUBNET_POLICIES]) {
      assert.equal(new Set(list.map((d) => d.type.toLowerCase())).size, list.length);
    }
  });

  it('finds descriptors case-insensitively, as HNS matches types', () => {
    assert.equal(policyDescriptor('endpoint', 'sdnroute')?.type, 'SDNRoute');
    assert.equal(policyDescriptor('network', 'SDNRoute'), undefined);
  });

  it('the examples the CLI shows pass the structural validator', () => {
    for (const [scope, list] of [
      ['network', NETWORK_POLICIES],
      ['endpoint', ENDPOINT_POLICIES],
    ] as const) {
      for (const d of list.filter((x) => x.example)) {
        const doc = { Policies: [{ Type: d.type, Settings: d.example }] };
        assert.deepEqual(scope === 'network' ? validateNetwork(doc) : validateEndpoint(doc), [], d.type);
      }
    }
  });

  it('the feature table reads the registry: settings-dependent needs included', () => {
    const needs = endpointNeeds({
      Policies: [
        // A user-supplied OutBoundNAT with Destinations is sent as given (issue 12): only the plugins gate loopback DSR.
        { Type: 'OutBoundNAT', Settings: { Destinations: ['10.0.0.1'] } },
        { Type: 'L4Proxy', Settings: { Port: '15001' } },
        { Type: 'TierAcl', Settings: {} },
      ],
    } as never);
    assert.deepEqual(needs.map((n) => n.feature).sort(), ['TierAcl']);
    const net = networkNeeds({
      Policies: [
        { Type: 'SetPolicy', Settings: { Id: 'a', PolicyType: 'NESTEDIPSET', Values: '' } },
        { Type: 'L4Proxy', Settings: {} },
      ],
    } as never);
    assert.deepEqual(net.map((n) => n.feature).sort(), ['L4Proxy', 'NestedIpSet', 'SetPolicy']);
  });

  describe('ACL Action "Pass" (a TierAcl rule action only): validator and emulator agree', () => {
    const acl = (action: string) => ({ Type: 'ACL', Settings: { Action: action, Direction: 'In', Protocols: '6', LocalPorts: '80' } });
    let t: ReturnType<typeof tempState>;
    beforeEach(() => (t = tempState()));
    afterEach(() => t.cleanup());

    it('the structural validator refuses it, naming the field', () => {
      const issues = validateEndpointModify({ ResourceType: 'Policy', RequestType: 'Update', Settings: { Policies: [acl('Pass')] } });
      assert.deepEqual(
        issues.map((i) => i.path),
        ['Settings.Policies[0].Settings.Action'],
      );
      assert.deepEqual(validateEndpoint({ Policies: [acl('Allow')] }), []);
    });

    it('the emulator refuses it with HCN_E_INVALID_POLICY and accepts Allow', async () => {
      const hns = t.open();
      const net = await hns.createNetwork(l2bridge());
      await rejectsWith(
        hns.createEndpoint(net.ID!, { Name: 'pass', Policies: [acl('Pass')] } as never),
        'HCN_E_INVALID_POLICY',
        'bad-input',
        /Action must be Allow or Block, got "Pass"/,
      );
      const ep = await hns.createEndpoint(net.ID!, { Name: 'allow', Policies: [acl('Allow')] } as never);
      await rejectsWith(
        hns.modifyEndpoint(ep.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [acl('pass')] } } as never),
        'HCN_E_INVALID_POLICY',
      );
    });
  });
});
