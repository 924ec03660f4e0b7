/** In-process checks of the CLI's pure pieces: documents built from flags, apply's comparison and file reading. */
import { strict as assert } from 'node:assert';
import { networkFromFlags, firstHost } from '../../../src/cli/commands/network';
import { loadBalancerFromFlags } from '../../../src/cli/commands/lb';
import { holds, readDocuments } from '../../../src/cli/apply';
import { policiesFromFlags, requirePolicyFeatures } from '../../../src/cli/policies';
import { toTable } from '../../../src/cli/output';
import { UsageError } from '../../../src/cli/errors';

describe('cli: documents built from flags', () => {
  it('first host of a subnet (the default gateway)', () => {
    assert.equal(firstHost('10.244.1.0/24'), '10.244.1.1');
    assert.equal(firstHost('10.244.0.0/16'), '10.244.0.1');
    assert.equal(firstHost('192.168.255.0/30'), '192.168.255.1');
    assert.equal(firstHost('10.0.0.4/31'), '10.0.0.4');
    assert.equal(firstHost('fd00:10:244:1::/64'), 'fd00:10:244:1::1');
  });

  it('network create → the HCN network flannel would create', () => {
    assert.deepEqual(networkFromFlags({ type: 'overlay', name: 'flannel.4096', subnet: ['10.244.1.0/24'], adapter: 'Ethernet' }), {
      Name: 'flannel.4096',
      Type: 'Overlay',
      Ipams: [
        {
          Type: 'Static',
          Subnets: [
            {
              IpAddressPrefix: '10.244.1.0/24',
              Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }],
              Policies: [{ Type: 'VSID', Settings: { IsolationId: 4096 } }],
            },
          ],
        },
      ],
      Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet' } }],
      SchemaVersion: { Major: 2, Minor: 0 },
    });
    assert.deepEqual(networkFromFlags({ type: 'NAT', name: 'nat' }), { Name: 'nat', Type: 'NAT', SchemaVersion: { Major: 2, Minor: 0 } });
    assert.throws(
      () => networkFromFlags({ type: 'L2Bridge', name: 'x', subnet: ['10.0.0.0/24', '10.1.0.0/24'] }),
      (e: unknown) => e instanceof UsageError && /--subnet: a second IPv4 subnet "10\.1\.0\.0\/24"/.test(e.message),
    );
    assert.throws(
      () => networkFromFlags({ type: 'L2Bridge', name: 'x', gateway: ['10.0.0.1'], subnet: [] }),
      /--gateway: each --gateway belongs/,
    );
  });

  it('lb create → one port mapping, DSR and affinity flags, IPv6 flag from the VIP', () => {
    const lb = loadBalancerFromFlags(
      { vip: ['fd00::10'], protocol: 'TCP', port: '80', targetPort: '8080', endpoint: [], dsr: true, affinity: true },
      ['e'],
    );
    assert.deepEqual(lb, {
      HostComputeEndpoints: ['e'],
      FrontendVIPs: ['fd00::10'],
      PortMappings: [{ Protocol: 6, InternalPort: 8080, ExternalPort: 80, DistributionType: 2, Flags: 0 }],
      Flags: 3,
      SchemaVersion: { Major: 2, Minor: 0 },
    });
    assert.throws(
      () =>
        loadBalancerFromFlags({ vip: ['10.0.0.1'], protocol: 'tcp', port: '80', targetPort: '80', endpoint: [], sourceVip: 'fd00::1' }, []),
      /mix IPv4 and IPv6/,
    );
  });

  it('--policy: objects or arrays, types canonicalized, features gated', () => {
    const ps = policiesFromFlags(
      ['{"type":"outboundnat","settings":{"Exceptions":["10.96.0.0/12"]}}', '[{"Type":"L4WFPPROXY"},{"Type":"TierAcl"}]'],
      'endpoint',
    );
    assert.deepEqual(
      ps.map((p) => p.Type),
      ['OutBoundNAT', 'L4WFPPROXY', 'TierAcl'],
    );
    assert.throws(() => policiesFromFlags(['1'], 'network'), /--policy: each policy must be a JSON object/);
    assert.throws(() => requirePolicyFeatures({ Major: 13, Minor: 1 }, ps), /--policy: L4WFPPROXY needs HNS 13\.2 or later/);
    assert.doesNotThrow(() => requirePolicyFeatures({ Major: 14, Minor: 0 }, ps));
  });

  it('tables align columns and show - for empty cells', () => {
    assert.equal(
      toTable(
        [
          { a: 'x', b: '' },
          { a: 'longer', b: 'y' },
        ],
        [
          { header: 'A', get: (r) => r.a },
          { header: 'B', get: (r) => r.b },
        ],
      ),
      'A       B\nx       -\nlonger  y\n',
    );
  });
});

describe('cli: apply comparison and input', () => {
  it('holds: HNS spellings of the same value are equal', () => {
    assert.ok(holds({ MacAddress: '00:15:5d:00:00:50' }, { MacAddress: '00-15-5D-00-00-50', ID: 'x' }));
    assert.ok(
      holds({ HostComputeNetwork: '5f4b1a6c-3b2e-4d8a-9c71-2e0f8b6d4a10' }, { HostComputeNetwork: '5F4B1A6C-3B2E-4D8A-9C71-2E0F8B6D4A10' }),
    );
    assert.ok(
      holds({ IpConfigurations: [{ IpAddress: 'fd00::0:5' }] }, { IpConfigurations: [{ IpAddress: 'fd00::5', PrefixLength: 64 }] }),
    );
    assert.ok(holds({ Health: { LastUpdateTime: 1 }, SchemaVersion: { Major: 2, Minor: 0 } }, { SchemaVersion: { Major: 2, Minor: 2 } }));
    assert.ok(holds({ Version: 5n }, {}));
    assert.ok(holds({ QOS: 18446744073709551615n }, { QOS: 18446744073709551615n }));
  });

  it('holds: object lists may hold more (HNS adds policies); value lists are sets', () => {
    const have = {
      Policies: [
        { Type: 'ProviderAddress', Settings: { ProviderAddress: '192.0.2.10' } },
        { Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet' } },
      ],
      FrontendVIPs: ['10.96.0.10', '10.96.0.11'],
    };
    assert.ok(holds({ Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet' } }] }, have));
    assert.ok(!holds({ Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet 2' } }] }, have));
    assert.ok(holds({ FrontendVIPs: ['10.96.0.11', '10.96.0.10'] }, have));
    assert.ok(!holds({ FrontendVIPs: ['10.96.0.10'] }, have));
    assert.ok(!holds({ Type: 'L2Bridge' }, { Type: 'Overlay' }));
  });

  it('readDocuments: JSON object or list, YAML multi-document with lists, errors name the file', () => {
    assert.deepEqual(
      readDocuments('[{"Name":"a"},{"Name":"b"}]', 'f.json').map((d) => d.source),
      ['f.json document #1', 'f.json document #2'],
    );
    assert.equal(
      (readDocuments('{"Health":{"LastUpdateTime":132455719049851012}}', 'f.json')[0].value as { Health: { LastUpdateTime: bigint } })
        .Health.LastUpdateTime,
      132455719049851012n,
    );
    const y = readDocuments('# comment\nName: a\n---\n- Name: b\n- Name: c\n---\n', 'f.yaml');
    assert.deepEqual(
      y.map((d) => (d.value as { Name: string }).Name),
      ['a', 'b', 'c'],
    );
    assert.throws(() => readDocuments('  \n', 'f.yaml'), /f\.yaml: the file is empty/);
    assert.throws(() => readDocuments('---\n---\n', 'f.yaml'), /f\.yaml: no documents found/);
    assert.throws(() => readDocuments('a: [1\n', 'f.yaml'), /f\.yaml: not valid YAML/);
  });
});
