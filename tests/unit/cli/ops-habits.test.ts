/** kubectl habits: --version, -o wide|name, --no-headers, delete -f (undo apply), --ignore-not-found, --dry-run, policy add output. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { CliSandbox } from './helpers';

const LAB = `Name: cbr1
Type: L2Bridge
Ipams: [{Type: Static, Subnets: [{IpAddressPrefix: 10.244.3.0/24, Routes: [{NextHop: 10.244.3.1, DestinationPrefix: 0.0.0.0/0}]}]}]
---
Kind: Endpoint
Name: web-1
HostComputeNetwork: cbr1
IpConfigurations: [{IpAddress: 10.244.3.10}]
---
Name: web
FrontendVIPs: [10.96.0.20]
HostComputeEndpoints: [web-1]
PortMappings: [{Protocol: 6, InternalPort: 8080, ExternalPort: 80}]
`;

describe('cli: kubectl habits', function () {
  this.timeout(60_000);
  const sb = new CliSandbox();
  after(() => sb.cleanup());

  it('--version prints the package version', () => {
    const pkg = JSON.parse(fs.readFileSync(require.resolve('../../../../package.json'), 'utf8')) as { version: string };
    assert.equal(sb.ok(['--version']).trim(), pkg.version);
  });

  it('delete -f undoes apply -f (reverse order); again fails with exit 1 unless --ignore-not-found', () => {
    const f = sb.file('lab.yaml', LAB);
    sb.ok(['apply', '-f', f]);
    assert.equal(sb.ok(['network', 'list', '-o', 'name']), 'network/cbr1\n');
    assert.equal(sb.ok(['lb', 'list', '-o', 'name']), 'lb/web\n');
    assert.equal(sb.ok(['delete', '-f', f, '-o', 'name']), 'lb/web\nendpoint/web-1\nnetwork/cbr1\n');
    assert.deepEqual(JSON.parse(sb.ok(['network', 'list', '-o', 'json'])), []);
    assert.deepEqual(JSON.parse(sb.ok(['endpoint', 'list', '-o', 'json'])), []);
    const again = sb.run(['delete', '-f', f]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no LoadBalancer web to delete/);
    const ign = sb.run(['delete', '-f', f, '--ignore-not-found', '--no-headers']);
    assert.equal(ign.code, 0, ign.stderr);
    assert.match(ign.stdout, /^LoadBalancer +web +- +not found$/m);
    assert.doesNotMatch(ign.stdout, /KIND/);
  });

  it('--dry-run prints the calls and documents and changes nothing (create, delete -f)', () => {
    const before = sb.ok(['network', 'list', '-o', 'json']);
    const r = sb.run(['--dry-run', 'network', 'create', '--type', 'L2Bridge', '--name', 'dry', '--subnet', '10.7.0.0/24']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /# dry run: 1 call would be made, none was\n# 1\. HcnCreateNetwork\n\{\n {2}"Name": "dry"/);
    assert.equal(sb.ok(['network', 'list', '-o', 'json']), before);
    const f = sb.file('lab2.yaml', LAB);
    sb.ok(['apply', '-f', f]);
    const d = sb.run(['delete', '-f', f, '--dry-run']);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /# 1\. HcnDeleteLoadBalancer [0-9A-F-]{36}\n# 2\. HcnDeleteEndpoint [0-9A-F-]{36}\n# 3\. HcnDeleteNetwork/);
    assert.equal(sb.ok(['network', 'list', '-o', 'name']), 'network/cbr1\n');
    const ep = sb.run(['endpoint', 'create', '--network', 'cbr1', '--name', 'x', '--dry-run']);
    assert.match(ep.stdout, /HcnCreateEndpoint [0-9A-F-]{36}\n\{\n {2}"Name": "x"/);
    assert.doesNotMatch(sb.ok(['endpoint', 'list', '-o', 'name']), /endpoint\/x/);
  });

  it('-o wide adds policy types (and backends for load balancers); --no-headers drops the header line', () => {
    const wide = sb.ok(['lb', 'list', '-o', 'wide']);
    assert.match(wide.split('\n')[0], /ENDPOINTS +FLAGS +POLICY TYPES +ENDPOINT IDS$/);
    assert.match(wide, / web-1 +- +- +[0-9A-F-]{36}$/m);
    assert.doesNotMatch(sb.ok(['network', 'list', '-o', 'wide']), /ENDPOINT IDS/);
    const plain = sb.ok(['network', 'list', '--no-headers']);
    assert.match(plain, /^[0-9A-F-]{36} +cbr1 +L2Bridge/);
    assert.equal(sb.run(['network', 'list', '-o', 'xml']).code, 2);
  });

  it('network policy add prints the resulting policies', () => {
    const out = sb.ok(['network', 'policy', 'add', 'cbr1', '--policy', '{"Type":"HostRoute","Settings":{}}']);
    assert.match(out, /^TYPE +SETTINGS$/m);
    assert.match(out, /^HostRoute +\{\}$/m);
  });
});
