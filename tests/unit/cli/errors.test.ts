/**
 * Bad input: exit code 2, a message that names the flag or field and what to fix, and the state file left
 * exactly as it was (byte for byte).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { CliSandbox } from './helpers';

describe('cli: bad input exits 2, names the field, changes nothing', function () {
  this.timeout(60_000); // spawns node processes; a loaded 2-core CI box is slow, not wrong
  const sb = new CliSandbox();
  let initial: Buffer;
  before(() => {
    sb.ok(['network', 'create', '--type', 'L2Bridge', '--name', 'cbr0', '--subnet', '10.244.1.0/24']);
    sb.ok(['endpoint', 'create', '--network', 'cbr0', '--name', 'ep1']);
    initial = fs.readFileSync(sb.state);
  });
  after(() => sb.cleanup());

  const badYaml =
    'Name: x\nType: L2Bridge\nIpams:\n  - Subnets:\n      - IpAddressPrefix: 10.0.0.0/33\n---\nName: e\nHostComputeNetwork: nope\n';
  const cases: [string, string[] | (() => string[]), RegExp][] = [
    [
      'unknown network type',
      ['network', 'create', '--type', 'Bridge', '--name', 'n'],
      /--type: "Bridge" is not a network type: use one of L2Bridge, Overlay, Transparent, NAT/,
    ],
    [
      'bad subnet',
      ['network', 'create', '--type', 'L2Bridge', '--name', 'n', '--subnet', '10.0.0.0/33'],
      /--subnet: "10\.0\.0\.0\/33" is not a valid CIDR prefix/,
    ],
    [
      'subnet with host bits',
      ['network', 'create', '--type', 'L2Bridge', '--name', 'n', '--subnet', '10.0.0.5/24'],
      /--subnet: "10\.0\.0\.5\/24" has host bits set: use 10\.0\.0\.0\/24/,
    ],
    [
      'gateway outside the subnet',
      ['network', 'create', '--type', 'L2Bridge', '--name', 'n', '--subnet', '10.0.0.0/24', '--gateway', '10.0.1.1'],
      /--gateway: 10\.0\.1\.1 is not inside --subnet 10\.0\.0\.0\/24/,
    ],
    [
      'L2Bridge without subnet',
      ['network', 'create', '--type', 'L2Bridge', '--name', 'n'],
      /--subnet: a L2Bridge network needs the pod subnet/,
    ],
    [
      'VNI on a bridge',
      ['network', 'create', '--type', 'L2Bridge', '--name', 'n', '--subnet', '10.0.0.0/24', '--vni', '4096'],
      /--vni: only Overlay networks carry a VNI/,
    ],
    [
      'VNI out of range',
      ['network', 'create', '--type', 'Overlay', '--name', 'n', '--subnet', '10.0.0.0/24', '--vni', '99999999'],
      /--vni: "99999999" is not an integer in 4096\.\.16777215/,
    ],
    [
      'VNI below the range HNS takes',
      ['network', 'create', '--type', 'Overlay', '--name', 'n', '--subnet', '10.0.0.0/24', '--vni', '4095'],
      /--vni: "4095" is not an integer in 4096\.\.16777215 \(HNS reserves VSIDs below 4096/,
    ],
    ['missing --name', ['network', 'create', '--type', 'NAT'], /required option '--name <name>' not specified/],
    [
      'endpoint on an unknown network',
      ['endpoint', 'create', '--network', 'nope', '--name', 'e'],
      /--network: no network named or with ID "nope" exists/,
    ],
    [
      'endpoint IP outside the network',
      ['endpoint', 'create', '--network', 'cbr0', '--name', 'e', '--ip', '10.9.9.9'],
      /--ip: 10\.9\.9\.9 is not in any subnet of network cbr0 \(10\.244\.1\.0\/24\)/,
    ],
    [
      'endpoint IP not an IP',
      ['endpoint', 'create', '--network', 'cbr0', '--name', 'e', '--ip', '10.244.1'],
      /--ip: "10\.244\.1" is not an IP address/,
    ],
    [
      'endpoint MAC',
      ['endpoint', 'create', '--network', 'cbr0', '--name', 'e', '--mac', '00-15-5D'],
      /--mac: "00-15-5D" is not a MAC address/,
    ],
    ['policy not JSON', ['endpoint', 'create', '--network', 'cbr0', '--name', 'e', '--policy', '{Type:'], /--policy: not valid JSON/],
    [
      'policy settings',
      [
        'endpoint',
        'create',
        '--network',
        'cbr0',
        '--name',
        'e',
        '--policy',
        '{"Type":"PortMapping","Settings":{"Protocol":6,"InternalPort":0,"ExternalPort":80}}',
      ],
      /Policies\[0\]\.Settings\.InternalPort: must be an integer from 1 to 65535, got number 0/,
    ],
    [
      'policy type',
      ['endpoint', 'create', '--network', 'cbr0', '--name', 'e', '--policy', '{"Type":"Firewall"}'],
      /Policies\[0\]\.Type: "Firewall" is not an endpoint policy type/,
    ],
    [
      'lb protocol',
      ['lb', 'create', '--vip', '10.96.0.10', '--protocol', 'icmp', '--port', '80', '--target-port', '80', '--endpoint', 'ep1'],
      /--protocol: "icmp" is not tcp or udp/,
    ],
    [
      'lb port',
      ['lb', 'create', '--vip', '10.96.0.10', '--protocol', 'tcp', '--port', '70000', '--target-port', '80', '--endpoint', 'ep1'],
      /--port: "70000" is not an integer in 1\.\.65535/,
    ],
    [
      'lb vip',
      ['lb', 'create', '--vip', 'ten', '--protocol', 'tcp', '--port', '80', '--target-port', '80', '--endpoint', 'ep1'],
      /--vip: "ten" is not an IP address/,
    ],
    [
      'lb unknown endpoint',
      ['lb', 'create', '--vip', '10.96.0.10', '--protocol', 'tcp', '--port', '80', '--target-port', '80', '--endpoint', 'ep1', 'nope'],
      /--endpoint: no endpoint named or with ID "nope" exists/,
    ],
    ['namespace type', ['namespace', 'create', '--type', 'Container'], /--type: "Container" is not a namespace type/],
    [
      'attach unknown endpoint',
      ['namespace', 'attach', 'ffffffff-0000-0000-0000-000000000000', 'ep1'],
      /<namespace>: no namespace named or with ID/,
    ],
    ['output format', ['network', 'list', '-o', 'xml'], /-o\/--output: "xml" is not a format: use one of table, json, yaml/],
    ['unknown data plane', ['--dataplane', 'bogus', 'network', 'list'], /--dataplane <kind>' argument 'bogus' is invalid/],
    ['unknown option', ['network', 'list', '--colour'], /unknown option '--colour'/],
    [
      'apply: invalid documents',
      () => ['apply', '-f', sb.file('bad.yaml', badYaml)],
      /document #1: Ipams\[0\]\.Subnets\[0\]\.IpAddressPrefix: "10\.0\.0\.0\/33" is not a valid CIDR prefix[\s\S]*document #2: HostComputeNetwork: no network named or with ID "nope"/,
    ],
    ['apply: not YAML', () => ['apply', '-f', sb.file('broken.yaml', 'Name: [x\n')], /not valid YAML/],
    ['apply: not JSON', () => ['apply', '-f', sb.file('broken.json', '{"Name": }')], /broken\.json: not valid JSON/],
    [
      'apply: unknown kind',
      () => ['apply', '-f', sb.file('kind.yaml', 'Kind: Pod\nName: x\n')],
      /Kind the string "Pod" is not one of Network, Endpoint, Namespace, LoadBalancer/,
    ],
    ['apply: no such file', ['apply', '-f', '/nonexistent/file.yaml'], /-f\/--filename: cannot read \/nonexistent\/file\.yaml: ENOENT/],
  ];

  for (const [name, args, message] of cases) {
    it(name, () => {
      const r = sb.run(typeof args === 'function' ? args() : args);
      assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
      assert.ok(fs.readFileSync(sb.state).equals(initial), 'the state file changed');
    });
  }

  it('SWITCHYARD_DATAPLANE must name a data plane (exit 2)', () => {
    const r = sb.run(['network', 'list'], { SWITCHYARD_DATAPLANE: 'nope' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown data plane "nope": use one of memory, linux, hcn, hns-v1, powershell/);
  });

  it('a feature the host lacks is refused before anything is created', () => {
    const r = sb.run(
      [
        'lb',
        'create',
        '--vip',
        '10.96.0.10',
        '--protocol',
        'tcp',
        '--port',
        '80',
        '--target-port',
        '80',
        '--endpoint',
        'ep1',
        '--affinity',
      ],
      { SWITCHYARD_HNS_VERSION: '11.10' },
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--affinity: this host's HNS 11\.10 has no SessionAffinity support \(needs HNS 12\.0 or later\)/);
    assert.ok(fs.readFileSync(sb.state).equals(initial));
  });

  it('an IPv6 subnet on an HNS without dual stack is refused', () => {
    const r = sb.run(['network', 'create', '--type', 'L2Bridge', '--name', 'ds', '--subnet', '10.0.0.0/24', '--subnet', 'fd00::/64'], {
      SWITCHYARD_HNS_VERSION: '10.2',
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--subnet: IPv6 subnets need HNS 11\.10 or later \(dual stack\); this host runs HNS 10\.2/);
    assert.ok(fs.readFileSync(sb.state).equals(initial));
  });

  it('a failure reported by HNS exits 1 with its text and HRESULT', () => {
    const r = sb.run(['network', 'create', '--type', 'L2Bridge', '--name', 'cbr0', '--subnet', '10.244.9.0/24']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /HcnCreateNetwork.*A network with this name already exists.*\(0x803b0010\)\nHRESULT 0x803b0010 HCN_E_NETWORK_ALREADY_EXISTS/,
    );
    assert.ok(fs.readFileSync(sb.state).equals(initial));
  });

  it('--help exits 0', () => {
    const r = sb.run(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /network[\s\S]*endpoint[\s\S]*lb[\s\S]*namespace[\s\S]*apply[\s\S]*version/);
  });
});
