/** Casing and enum drift as HNS produces it, uint64 fidelity, and kind detection for `switchyard apply`. */
import { strict as assert } from 'node:assert';
import {
  parseNetwork,
  parseEndpoint,
  parseNamespace,
  parseLoadBalancer,
  parseV1Endpoint,
  parseV1Network,
  parseNetworks,
  parseDocument,
  detectKind,
  HcnParseError,
  stringifyHnsJson,
  normalizeKeys,
} from '../../../src/hns';

describe('hns: parse accepts the casing drift HNS produces', () => {
  it('canonicalizes ID/Id, lower-case keys and the network type', () => {
    const net = parseNetwork(`{"Id":"5F4B1A6C-3B2E-4D8A-9C71-2E0F8B6D4A10","name":"flannel.4096","type":"overlay",
      "ipams":[{"type":"static","subnets":[{"ipAddressPrefix":"10.244.1.0/24","routes":[{"nexthop":"10.244.1.1","destinationPrefix":"0.0.0.0/0"}],
        "policies":[{"type":"vsid","settings":{"isolationId":4096}}]}]}],
      "policies":[{"type":"REMOTESUBNETROUTE","settings":{"destinationprefix":"10.244.2.0/24","IsolationID":4096,
        "providerAddress":"192.168.0.11","distributedRouterMacAddress":"00-15-5D-BB-6E-C2"}}]}`);
    assert.deepEqual(net, {
      ID: '5F4B1A6C-3B2E-4D8A-9C71-2E0F8B6D4A10',
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
      Policies: [
        {
          Type: 'RemoteSubnetRoute',
          Settings: {
            DestinationPrefix: '10.244.2.0/24',
            IsolationId: 4096,
            ProviderAddress: '192.168.0.11',
            DistributedRouterMacAddress: '00-15-5D-BB-6E-C2',
          },
        },
      ],
    });
  });

  it('treats a missing Type as NAT and numeric types by HNS order', () => {
    assert.equal(parseNetwork('{"Name":"nat"}').Type, 'NAT');
    assert.equal(parseNetwork({ Name: 'x', Type: 5 }).Type, 'Overlay');
    assert.equal(parseNetwork({ Type: 'l2bridge' }).Type, 'L2Bridge');
    assert.equal(parseNetwork({ Type: 'TRANSPARENT' }).Type, 'Transparent');
  });

  it('writes IpAddress in v2 documents and IPAddress in v1 ones, whatever the input casing', () => {
    const ep = parseEndpoint('{"ID":"x","IPConfigurations":[{"IPAddress":"10.0.0.5","prefixLength":24}],"macaddress":"00-15-5D-00-00-01"}');
    assert.deepEqual(ep, { ID: 'x', IpConfigurations: [{ IpAddress: '10.0.0.5', PrefixLength: 24 }], MacAddress: '00-15-5D-00-00-01' });
    assert.deepEqual(parseV1Endpoint('{"id":"x","ipaddress":"10.0.0.5","virtualnetwork":"n"}'), {
      ID: 'x',
      IPAddress: '10.0.0.5',
      VirtualNetwork: 'n',
    });
    assert.equal(parseV1Network('{"type":"nat"}').Type, 'NAT');
  });

  it('spells Id inside policy settings and ID on objects and namespace resources', () => {
    const net = parseNetwork({
      ID: 'n',
      Policies: [{ Type: 'setpolicy', Settings: { ID: 'ipset-1', PolicyType: 'IPSET', Values: '10.0.0.1' } }],
    });
    assert.deepEqual(net.Policies, [{ Type: 'SetPolicy', Settings: { Id: 'ipset-1', PolicyType: 'IPSET', Values: '10.0.0.1' } }]);
    const ns = parseNamespace('{"id":"ns","type":"host","resources":[{"type":"endpoint","data":{"Id":"ep"}}]}');
    assert.deepEqual(ns, { ID: 'ns', Type: 'Host', Resources: [{ Type: 'Endpoint', Data: { ID: 'ep' } }] });
    assert.deepEqual(normalizeKeys({ Settings: { Subnets: [{ id: 's' }] } }), { Settings: { Subnets: [{ ID: 's' }] } });
  });

  it('canonicalizes endpoint policy types the way hcsshim spells them', () => {
    const ep = parseEndpoint({
      Policies: [{ Type: 'SDNROUTE', Settings: {} }, { Type: 'outboundnat', Settings: {} }, { Type: 'l4wfpproxy' }, { Type: 'IOV' }],
    });
    assert.deepEqual(
      ep.Policies?.map((p) => p.Type),
      ['SDNRoute', 'OutBoundNAT', 'L4WFPPROXY', 'Iov'],
    );
  });

  it('keeps unknown fields and their spelling', () => {
    const lb = parseLoadBalancer('{"FrontendVIPs":["10.96.0.10"],"SomeFutureField":{"innerKey":1}}');
    assert.deepEqual(lb, { FrontendVIPs: ['10.96.0.10'], SomeFutureField: { innerKey: 1 } });
  });

  it('keeps uint64 values beyond 2^53 as bigint and writes the same digits back', () => {
    const text =
      '{"ID":"n","Version":38654705664,"Health":{"LastUpdateTime":132455719049851012},"Policies":[{"Type":"InterfaceConstraint","Settings":{"InterfaceLuid":18446744073709551615}}]}';
    const net = parseNetwork(text);
    assert.equal(net.Health?.LastUpdateTime, 132455719049851012n);
    assert.equal(net.Version, 38654705664);
    assert.equal((net.Policies?.[0].Settings as { InterfaceLuid: bigint }).InterfaceLuid, 18446744073709551615n);
    // Type is made explicit (HNS omits it for NAT); every digit of the uint64 values survives.
    assert.equal(stringifyHnsJson(net), text.slice(0, -1) + ',"Type":"NAT"}');
    assert.match(stringifyHnsJson(net), /"LastUpdateTime":132455719049851012\}/);
    assert.match(stringifyHnsJson(net), /"InterfaceLuid":18446744073709551615\}/);
  });

  it('parses query output lists', () => {
    const list = parseNetworks('[{"Name":"a","Type":"overlay"},{"Name":"b"}]');
    assert.deepEqual(
      list.map((n) => n.Type),
      ['Overlay', 'NAT'],
    );
  });

  it('refuses what is not a JSON object, saying so', () => {
    assert.throws(
      () => parseNetwork('{"Name":'),
      (e: unknown) => e instanceof HcnParseError && /HostComputeNetwork: not valid JSON/.test(e.message),
    );
    assert.throws(() => parseEndpoint('[1]'), /HostComputeEndpoint: expected a JSON object, got an array/);
    assert.throws(() => parseNetworks('{}'), /expected a JSON array/);
  });
});

describe('hns: document kind detection (switchyard apply)', () => {
  const cases: [Record<string, unknown>, string | undefined][] = [
    [{ Name: 'cbr0', Type: 'L2Bridge' }, 'Network'],
    [{ Name: 'x', Ipams: [] }, 'Network'],
    [{ Name: 'e', HostComputeNetwork: 'cbr0' }, 'Endpoint'],
    [{ IpConfigurations: [{ IpAddress: '10.0.0.1' }] }, 'Endpoint'],
    [{ FrontendVIPs: ['10.96.0.10'], PortMappings: [] }, 'LoadBalancer'],
    [{ HostComputeEndpoints: [] }, 'LoadBalancer'],
    [{ Type: 'Host' }, 'Namespace'],
    [{ Resources: [] }, 'Namespace'],
    [{ kind: 'hostcomputenetwork', Name: 'n' }, 'Network'],
    [{ Kind: 'LB' }, 'LoadBalancer'],
    [{ Name: 'mystery' }, undefined],
    [{ Kind: 'Pod' }, undefined],
  ];
  for (const [doc, kind] of cases) it(`${JSON.stringify(doc)} → ${kind}`, () => assert.equal(detectKind(doc), kind));

  it('parseDocument strips Kind and parses by kind', () => {
    assert.deepEqual(parseDocument({ Kind: 'Network', name: 'n', type: 'overlay' }), {
      kind: 'Network',
      doc: { Name: 'n', Type: 'Overlay' },
    });
    assert.throws(() => parseDocument({ Kind: 'Pod' }), /Kind the string "Pod" is not one of Network, Endpoint, Namespace, LoadBalancer/);
    assert.throws(() => parseDocument({ Name: 'x' }), /add "Kind": one of Network/);
  });
});
