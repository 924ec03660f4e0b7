/** switchyard apply: JSON/YAML, multi-document, names as references, idempotent by Name. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { parseHnsJson, type HostComputeEndpoint, type HostComputeLoadBalancer, type HostComputeNamespace } from '../../../src/hns';
import { CliSandbox } from './helpers';

interface Outcome {
  Kind: string;
  Result: string;
  Document: { ID: string; Name?: string };
}

const LAB = `# a bridge network, two pods and a service
Name: cbr1
Type: L2Bridge
Ipams:
  - Type: Static
    Subnets:
      - IpAddressPrefix: 10.244.3.0/24
        Routes: [{NextHop: 10.244.3.1, DestinationPrefix: 0.0.0.0/0}]
Policies:
  - {Type: NetAdapterName, Settings: {NetworkAdapterName: Ethernet}}
---
Kind: Endpoint
Name: web-1
HostComputeNetwork: cbr1
IpConfigurations: [{IpAddress: 10.244.3.10}]
Policies:
  - {Type: OutBoundNAT, Settings: {Exceptions: [10.96.0.0/12]}}
---
Name: web-2
HostComputeNetwork: cbr1
---
Kind: Namespace
Name: pod-web-1
Type: Host
Resources: [{Type: Endpoint, Data: {ID: web-1}}]
---
Name: web
FrontendVIPs: [10.96.0.20]
HostComputeEndpoints: [web-1, web-2]
PortMappings: [{Protocol: 6, InternalPort: 8080, ExternalPort: 80, DistributionType: 0, Flags: 0}]
`;

describe('cli: apply', function () {
  this.timeout(60_000); // spawns node processes; a loaded 2-core CI box is slow, not wrong
  const sb = new CliSandbox();
  after(() => sb.cleanup());
  const lab = sb.file('lab.yaml', LAB);
  let first: Outcome[];

  it('creates every document in dependency order, resolving names', () => {
    first = parseHnsJson<Outcome[]>(sb.ok(['apply', '-f', lab, '-o', 'json']));
    assert.deepEqual(
      first.map((o) => [o.Kind, o.Document.Name, o.Result]),
      [
        ['Network', 'cbr1', 'created'],
        ['Endpoint', 'web-1', 'created'],
        ['Endpoint', 'web-2', 'created'],
        ['Namespace', 'pod-web-1', 'created'],
        ['LoadBalancer', 'web', 'created'],
      ],
    );
    const ep = parseHnsJson<HostComputeEndpoint>(sb.ok(['endpoint', 'get', 'web-1', '-o', 'json']));
    assert.equal(ep.HostComputeNetwork?.toLowerCase(), first[0].Document.ID.toLowerCase());
    assert.equal(ep.IpConfigurations?.[0].IpAddress, '10.244.3.10');
    const ns = parseHnsJson<HostComputeNamespace>(sb.ok(['namespace', 'get', 'pod-web-1', '-o', 'json']));
    assert.deepEqual(
      ns.Resources?.map((r) => String(r.Data.ID).toLowerCase()),
      [first[1].Document.ID.toLowerCase()],
    );
    const lb = parseHnsJson<HostComputeLoadBalancer>(sb.ok(['lb', 'get', 'web', '-o', 'json']));
    assert.deepEqual(
      lb.HostComputeEndpoints?.map((x) => x.toLowerCase()).sort(),
      [first[1], first[2]].map((o) => o.Document.ID.toLowerCase()).sort(),
    );
  });

  it('a second apply reports everything unchanged and writes nothing', () => {
    const before = fs.readFileSync(sb.state);
    const table = sb.ok(['apply', '-f', lab]);
    assert.match(table, /^KIND\s+NAME\s+ID\s+RESULT\n/);
    assert.equal(table.match(/\bunchanged\n/g)?.length, 5, table);
    assert.ok(fs.readFileSync(sb.state).equals(before), 'an unchanged apply rewrote the state file');
  });

  it('JSON input (a list, Kind given or inferred) is the same to apply', () => {
    const json = JSON.stringify([
      {
        Kind: 'Network',
        Name: 'cbr1',
        Type: 'L2Bridge',
        Ipams: [
          {
            Type: 'Static',
            Subnets: [{ IpAddressPrefix: '10.244.3.0/24', Routes: [{ NextHop: '10.244.3.1', DestinationPrefix: '0.0.0.0/0' }] }],
          },
        ],
      },
      { Name: 'web-2', HostComputeNetwork: first[0].Document.ID.toLowerCase() },
    ]);
    const out = parseHnsJson<Outcome[]>(sb.ok(['apply', '-f', sb.file('lab.json', json), '-o', 'json']));
    assert.deepEqual(
      out.map((o) => o.Result),
      ['unchanged', 'unchanged'],
    );
  });

  it('a load balancer whose file differs is updated in place (configured)', () => {
    const changed = sb.file('lb.yaml', LAB.split('---').slice(-1)[0].replace('10.96.0.20', '10.96.0.21'));
    const out = parseHnsJson<Outcome[]>(sb.ok(['apply', '-f', changed, '-o', 'json']));
    assert.deepEqual(
      out.map((o) => [o.Kind, o.Result]),
      [['LoadBalancer', 'configured']],
    );
    assert.equal(out[0].Document.ID, first[4].Document.ID);
    assert.deepEqual(parseHnsJson<HostComputeLoadBalancer>(sb.ok(['lb', 'get', 'web', '-o', 'json'])).FrontendVIPs, ['10.96.0.21']);
    assert.deepEqual(
      parseHnsJson<Outcome[]>(sb.ok(['apply', '-f', changed, '-o', 'json'])).map((o) => o.Result),
      ['unchanged'],
    );
  });

  it('a network that only lacks policies gets them added (configured)', () => {
    const more = LAB.split('---')[0].replace('Policies:\n', 'Policies:\n  - {Type: HostRoute, Settings: {}}\n');
    const out = parseHnsJson<Outcome[]>(sb.ok(['apply', '-f', sb.file('net.yaml', more), '-o', 'json']));
    assert.deepEqual(
      out.map((o) => o.Result),
      ['configured'],
    );
    assert.ok((out[0].Document as { Policies?: { Type: string }[] }).Policies?.some((p) => p.Type === 'HostRoute'));
  });

  it('an endpoint that exists with different fields is refused, naming them; nothing changes', () => {
    const before = fs.readFileSync(sb.state);
    const r = sb.run(['apply', '-f', sb.file('moved.yaml', LAB.replace('10.244.3.10', '10.244.3.11'))]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /document #2: endpoint "web-1" already exists \(.*\) with different IpConfigurations: HNS cannot change that in place; delete it first or use another Name/,
    );
    assert.ok(fs.readFileSync(sb.state).equals(before));
  });

  it('a failure half-way removes what this run created', () => {
    const before = JSON.stringify(parseHnsJson(sb.ok(['endpoint', 'list', '-o', 'json'])));
    // The second endpoint asks for the address the first one takes: HNS refuses it.
    const clash = `Name: new-1\nHostComputeNetwork: cbr1\nIpConfigurations: [{IpAddress: 10.244.3.77}]\n---\nName: new-2\nHostComputeNetwork: cbr1\nIpConfigurations: [{IpAddress: 10.244.3.77}]\n`;
    const r = sb.run(['apply', '-f', sb.file('clash.yaml', clash)]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /deleted the 1 object\(s\) this run had created/);
    assert.equal(JSON.stringify(parseHnsJson(sb.ok(['endpoint', 'list', '-o', 'json']))), before);
  });

  it('reads stdin with -f -', () => {
    const r = sb.run(['apply', '-f', '-', '-o', 'json'], {}, LAB);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parseHnsJson<Outcome[]>(r.stdout).length, 5);
  });
});
