/** switchyard CLI end to end as a spawned process: create/list/get/delete for every resource, -o json/yaml. */
import { strict as assert } from 'node:assert';
import * as YAML from 'yaml';
import {
  parseNetwork,
  parseEndpoint,
  parseLoadBalancer,
  parseNamespace,
  parseHnsJson,
  validateNetwork,
  validateEndpoint,
  validateLoadBalancer,
  validateNamespace,
  formatIssue,
  type HostComputeNetwork,
  type HostComputeEndpoint,
  type HostComputeLoadBalancer,
  type HostComputeNamespace,
  type ValidationIssue,
} from '../../../src/hns';
import { CliSandbox } from './helpers';

const noIssues = (issues: ValidationIssue[]) => assert.deepEqual(issues.map(formatIssue), []);
/** -o json must be an HCN v2 document HCN would accept: it parses, validates, and round-trips unchanged. */
function hcn<T>(text: string, parse: (x: unknown) => T, validate: (d: T) => ValidationIssue[]): T {
  const raw = parseHnsJson(text);
  const doc = parse(raw);
  assert.deepEqual(doc, raw, 'the CLI printed a non-canonical HCN document');
  noIssues(validate(doc));
  return doc;
}

describe('cli: resources end to end (memory data plane)', function () {
  this.timeout(60_000); // spawns node processes; a loaded 2-core CI box is slow, not wrong
  const sb = new CliSandbox();
  after(() => sb.cleanup());
  let net: HostComputeNetwork;
  let overlay: HostComputeNetwork;
  let ep1: HostComputeEndpoint;
  let ep2: HostComputeEndpoint;

  it('network create prints a table and -o json prints the HCN network', () => {
    const table = sb.ok([
      'network',
      'create',
      '--type',
      'L2Bridge',
      '--name',
      'cbr0',
      '--subnet',
      '10.244.1.0/24',
      '--adapter',
      'Ethernet',
    ]);
    assert.match(table, /^ID\s+NAME\s+TYPE\s+SUBNETS/);
    assert.match(table, /\bcbr0\s+L2Bridge\s+10\.244\.1\.0\/24\s+10\.244\.1\.1\b.*Ethernet/);
    net = hcn(sb.ok(['network', 'get', 'cbr0', '-o', 'json']), parseNetwork, validateNetwork);
    assert.equal(net.Type, 'L2Bridge');
    assert.equal(net.Ipams?.[0].Subnets?.[0].IpAddressPrefix, '10.244.1.0/24');
    assert.deepEqual(net.Ipams?.[0].Subnets?.[0].Routes, [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }]);
    assert.deepEqual(
      net.Policies?.find((p) => p.Type === 'NetAdapterName'),
      { Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet' } },
    );
  });

  it('Overlay networks carry the VNI as a VSID subnet policy', () => {
    overlay = hcn(
      sb.ok([
        'network',
        'create',
        '--type',
        'overlay',
        '--name',
        'flannel.4097',
        '--subnet',
        '10.244.2.0/24',
        '--gateway',
        '10.244.2.1',
        '--vni',
        '4097',
        '-o',
        'json',
      ]),
      parseNetwork,
      validateNetwork,
    );
    assert.equal(overlay.Type, 'Overlay');
    assert.deepEqual(overlay.Ipams?.[0].Subnets?.[0].Policies, [{ Type: 'VSID', Settings: { IsolationId: 4097 } }]);
  });

  it('network list and get by ID agree; -o yaml is the same document', () => {
    const list = parseHnsJson<HostComputeNetwork[]>(sb.ok(['network', 'list', '-o', 'json']));
    assert.deepEqual(list.map((n) => n.Name).sort(), ['cbr0', 'flannel.4097']);
    assert.deepEqual(parseHnsJson(sb.ok(['network', 'get', net.ID!, '-o', 'json'])), net);
    assert.deepEqual(YAML.parse(sb.ok(['network', 'get', net.ID!.toLowerCase(), '-o', 'yaml'])), net);
    assert.match(sb.ok(['network', 'list']), /cbr0[\s\S]*flannel\.4097|flannel\.4097[\s\S]*cbr0/);
  });

  it('endpoint create: HNS assigns an IP from the subnet, or takes --ip/--mac/--policy', () => {
    ep1 = hcn(sb.ok(['endpoint', 'create', '--network', 'cbr0', '--name', 'ep1', '-o', 'json']), parseEndpoint, (d) => validateEndpoint(d));
    assert.equal(ep1.HostComputeNetwork?.toLowerCase(), net.ID!.toLowerCase());
    assert.match(ep1.IpConfigurations?.[0].IpAddress ?? '', /^10\.244\.1\.\d+$/);
    ep2 = hcn(
      sb.ok([
        'endpoint',
        'create',
        '--network',
        net.ID!,
        '--name',
        'ep2',
        '--ip',
        '10.244.1.50',
        '--mac',
        '00:15:5d:00:00:50',
        '--policy',
        '{"Type":"OutBoundNAT","Settings":{"Exceptions":["10.96.0.0/12","10.244.0.0/16"]}}',
        '--policy',
        '[{"type":"SDNROUTE","settings":{"DestinationPrefix":"10.96.0.0/12","NeedEncap":true}}]',
        '-o',
        'json',
      ]),
      parseEndpoint,
      (d) => validateEndpoint(d),
    );
    assert.equal(ep2.IpConfigurations?.[0].IpAddress, '10.244.1.50');
    assert.equal(ep2.MacAddress, '00-15-5D-00-00-50');
    assert.deepEqual(ep2.Policies, [
      { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12', '10.244.0.0/16'] } },
      { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } },
    ]);
  });

  it('endpoint list (all, by --network) and get', () => {
    const table = sb.ok(['endpoint', 'list']);
    assert.match(table, /\bep2\s+cbr0\s+10\.244\.1\.50/);
    const onCbr0 = parseHnsJson<HostComputeEndpoint[]>(sb.ok(['endpoint', 'list', '--network', 'cbr0', '-o', 'json']));
    assert.deepEqual(onCbr0.map((e) => e.Name).sort(), ['ep1', 'ep2']);
    assert.deepEqual(parseHnsJson(sb.ok(['endpoint', 'list', '--network', 'flannel.4097', '-o', 'json'])), []);
    assert.deepEqual(parseHnsJson(sb.ok(['endpoint', 'get', 'ep2', '-o', 'json'])), ep2);
  });

  let lb: HostComputeLoadBalancer;
  it('lb create with --dsr --affinity sets the HCN flags; list/get', () => {
    lb = hcn(
      sb.ok([
        'lb',
        'create',
        '--vip',
        '10.96.0.10',
        '--protocol',
        'udp',
        '--port',
        '53',
        '--target-port',
        '5353',
        '--endpoint',
        'ep1',
        ep2.ID!,
        '--dsr',
        '--affinity',
        '--name',
        'dns',
        '-o',
        'json',
      ]),
      parseLoadBalancer,
      (d) => validateLoadBalancer(d, { create: true }),
    );
    assert.equal(lb.Flags, 1);
    assert.deepEqual(lb.FrontendVIPs, ['10.96.0.10']);
    assert.deepEqual(lb.PortMappings, [{ Protocol: 17, InternalPort: 5353, ExternalPort: 53, DistributionType: 2, Flags: 0 }]);
    assert.deepEqual(lb.HostComputeEndpoints?.map((x) => x.toLowerCase()).sort(), [ep1.ID!, ep2.ID!].map((x) => x.toLowerCase()).sort());
    // Tables name the backends; -o wide adds their IDs.
    assert.match(sb.ok(['lb', 'list']), /10\.96\.0\.10\s+udp\/53->5353\s+ep1,ep2\s+dsr,affinity/);
    assert.match(sb.ok(['lb', 'list', '-o', 'wide']), new RegExp(`ep1,ep2\\s+dsr,affinity\\s+-\\s+${ep1.ID},${ep2.ID}$`, 'im'));
    assert.deepEqual(parseHnsJson(sb.ok(['lb', 'get', 'dns', '-o', 'json'])), lb);
    assert.deepEqual(YAML.parse(sb.ok(['lb', 'list', '-o', 'yaml'])), [lb]);
  });

  let ns: HostComputeNamespace;
  it('namespace create, attach, detach', () => {
    ns = hcn(sb.ok(['namespace', 'create', '--name', 'pod1', '-o', 'json']), parseNamespace, (d) => validateNamespace(d));
    assert.equal(ns.Type, 'Host');
    sb.ok(['namespace', 'attach', 'pod1', 'ep1']);
    const attached = parseNamespace(parseHnsJson(sb.ok(['namespace', 'get', ns.ID!, '-o', 'json'])));
    assert.deepEqual(
      attached.Resources?.map((r) => (r.Data.ID ?? '').toLowerCase()),
      [ep1.ID!.toLowerCase()],
    );
    assert.equal(
      parseEndpoint(parseHnsJson(sb.ok(['endpoint', 'get', 'ep1', '-o', 'json']))).HostComputeNamespace?.toLowerCase(),
      ns.ID!.toLowerCase(),
    );
    assert.match(sb.ok(['namespace', 'list']), /pod1\s+Host\s+\d+\s+ep1$/m);
    assert.match(sb.ok(['namespace', 'list', '-o', 'wide']), new RegExp(`pod1\\s+Host\\s+\\d+\\s+ep1\\s+-\\s+${ep1.ID}$`, 'im'));
    // The endpoint's table names its namespace (the GUID is -o wide's).
    assert.match(sb.ok(['endpoint', 'get', 'ep1']), /\s+pod1\s+-$/m);
    sb.ok(['namespace', 'detach', 'pod1', 'ep1']);
    assert.deepEqual(parseNamespace(parseHnsJson(sb.ok(['namespace', 'get', 'pod1', '-o', 'json']))).Resources ?? [], []);
  });

  it("namespace create --id uses the caller's GUID; a malformed one is refused (exit 2) and nothing is created", () => {
    const id = '{6b2d4b8e-5f7a-4c3e-9d1a-0e8f2c4a6b10}';
    const created = hcn(sb.ok(['namespace', 'create', '--id', id, '-o', 'json']), parseNamespace, (d) => validateNamespace(d));
    assert.equal(created.ID, '6B2D4B8E-5F7A-4C3E-9D1A-0E8F2C4A6B10');
    assert.equal(parseNamespace(parseHnsJson(sb.ok(['namespace', 'get', id.slice(1, -1), '-o', 'json']))).ID, created.ID);
    const before = sb.ok(['namespace', 'list', '-o', 'json']);
    const bad = sb.run(['namespace', 'create', '--id', 'not-a-guid']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--id: "not-a-guid" is not a GUID/);
    assert.equal(sb.ok(['namespace', 'list', '-o', 'json']), before, 'nothing created');
    sb.ok(['namespace', 'delete', created.ID!]);
  });

  it('version names the data plane, the HNS version and its features', () => {
    const v = parseHnsJson<{ Dataplane: string; HnsVersion: { Major: number; Minor: number }; Features: Record<string, boolean> }>(
      sb.ok(['version', '-o', 'json']),
    );
    assert.equal(v.Dataplane, 'memory');
    assert.deepEqual(v.HnsVersion, { Major: 15, Minor: 4 });
    assert.equal(v.Features.DSR, true);
    const old = parseHnsJson<typeof v>(sb.ok(['version', '-o', 'json'], { SWITCHYARD_HNS_VERSION: '9.2' }));
    assert.deepEqual(old.HnsVersion, { Major: 9, Minor: 2 });
    assert.equal(old.Features.DSR, false);
    assert.match(sb.ok(['version']), /Data plane:\s+memory\nHNS version:\s+15\.4\nFeatures:\s+.*SessionAffinity/);
  });

  it('delete: lb, namespace, endpoints, networks; then get is not found (exit 1, HRESULT shown)', () => {
    sb.ok(['lb', 'delete', lb.ID!]);
    sb.ok(['namespace', 'delete', 'pod1']);
    assert.match(sb.ok(['endpoint', 'delete', 'ep1', 'ep2']), /endpoint ep1 .* deleted\nendpoint ep2 .* deleted/);
    sb.ok(['network', 'delete', 'cbr0', overlay.ID!]);
    assert.deepEqual(parseHnsJson(sb.ok(['network', 'list', '-o', 'json'])), []);
    const r = sb.run(['network', 'get', 'cbr0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no network named or with ID "cbr0".*\nHRESULT 0x803b0001 HCN_E_NETWORK_NOT_FOUND/);
    const e = sb.run(['endpoint', 'get', ep1.ID!]);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /HRESULT 0x803b0002 HCN_E_ENDPOINT_NOT_FOUND/);
  });
});

describe('cli: network and endpoint policy add/remove (modify requests)', function () {
  this.timeout(60_000); // spawns node processes; a loaded 2-core CI box is slow, not wrong
  const sb = new CliSandbox();
  after(() => sb.cleanup());
  const rsr = {
    Type: 'RemoteSubnetRoute',
    Settings: {
      DestinationPrefix: '10.244.2.0/24',
      IsolationId: 4096,
      ProviderAddress: '192.168.0.11',
      DistributedRouterMacAddress: '00-15-5D-BB-6E-C2',
    },
  };

  it('network policy add/remove RemoteSubnetRoute and HostRoute', () => {
    sb.ok(['network', 'create', '--type', 'Overlay', '--name', 'ov', '--subnet', '10.244.1.0/24']);
    const added = parseNetwork(
      parseHnsJson(
        sb.ok([
          'network',
          'policy',
          'add',
          'ov',
          '--policy',
          JSON.stringify(rsr),
          '--policy',
          '{"type":"hostroute","settings":{}}',
          '-o',
          'json',
        ]),
      ),
    );
    assert.deepEqual(
      added.Policies?.filter((p) => p.Type === 'RemoteSubnetRoute' || p.Type === 'HostRoute'),
      [rsr, { Type: 'HostRoute', Settings: {} }],
    );
    const removed = parseNetwork(parseHnsJson(sb.ok(['network', 'policy', 'remove', 'ov', '--policy', JSON.stringify(rsr), '-o', 'json'])));
    assert.deepEqual(
      removed.Policies?.filter((p) => p.Type === 'RemoteSubnetRoute'),
      [],
    );
    assert.equal(removed.Policies?.filter((p) => p.Type === 'HostRoute').length, 1);
  });

  it('a policy type the host HNS lacks is refused (exit 2) before anything is sent', () => {
    const r = sb.run(['network', 'policy', 'add', 'ov', '--policy', '{"Type":"VxlanPort","Settings":{"Port":4789}}'], {
      SWITCHYARD_HNS_VERSION: '10.2',
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--policy: VxlanPort needs HNS 10\.3 or later \(feature VxlanPort\); this host runs HNS 10\.2/);
  });

  it('endpoint policy add/update validates settings and sends them', () => {
    sb.ok(['endpoint', 'create', '--network', 'ov', '--name', 'e1']);
    const acl = {
      Type: 'ACL',
      Settings: { Protocols: '6', Action: 'Allow', Direction: 'In', LocalPorts: '80', RuleType: 'Switch', Priority: 200 },
    };
    const ep = parseEndpoint(parseHnsJson(sb.ok(['endpoint', 'policy', 'add', 'e1', '--policy', JSON.stringify(acl), '-o', 'json'])));
    assert.deepEqual(
      ep.Policies?.filter((p) => p.Type === 'ACL'),
      [acl],
    );
    const bad = sb.run(['endpoint', 'policy', 'update', 'e1', '--policy', '{"Type":"ACL","Settings":{"Action":"Allow","Direction":"Up"}}']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Settings\.Policies\[0\]\.Settings\.Direction: "Up" is not one of In, Out/);
  });
});
