/** `-o json` output of list feeds back into `apply -f`; namespaces are found by ID (HCN gives them no name). */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { parseHnsJson } from '../../../src/hns';
import { CliSandbox } from './helpers';

interface Outcome {
  Kind: string;
  Result: string;
  Document: { ID: string; Name?: string; Type?: string };
}

describe('cli: apply -f of list output', function () {
  this.timeout(60_000);
  const sb = new CliSandbox();
  after(() => sb.cleanup());

  before(() => {
    sb.ok(['network', 'create', '--name', 'cbr0', '--type', 'L2Bridge', '--subnet', '10.244.7.0/24']);
    sb.ok(['endpoint', 'create', '--name', 'host_ep', '--network', 'cbr0', '--ip', '10.244.7.2']);
    sb.ok(['endpoint', 'create', '--name', 'pod_ep', '--network', 'cbr0', '--ip', '10.244.7.10']);
    const hd = parseHnsJson<{ ID: string; Type: string }[]>(sb.ok(['namespace', 'list', '-o', 'json'])).find(
      (n) => n.Type === 'HostDefault',
    )!;
    sb.ok(['namespace', 'attach', hd.ID, 'host_ep']);
  });

  it('endpoints attached to the HostDefault namespace and the namespace itself re-apply unchanged', () => {
    const eps = sb.file('eps.json', sb.ok(['endpoint', 'list', '-o', 'json']));
    const nss = sb.file('nss.json', sb.ok(['namespace', 'list', '-o', 'json']));
    const before = fs.readFileSync(sb.state);
    for (const f of [eps, nss]) {
      const out = parseHnsJson<Outcome[]>(sb.ok(['apply', '-f', f, '-o', 'json']));
      assert.ok(out.length > 0);
      assert.deepEqual(
        out.map((o) => o.Result),
        out.map(() => 'unchanged'),
        JSON.stringify(out),
      );
    }
    assert.ok(fs.readFileSync(sb.state).equals(before), 'an unchanged apply rewrote the state file');
  });

  it('a namespace given by ID is created with that ID, then found by it; its endpoints are attached', () => {
    const id = '5d1e7c2a-51b8-4c09-9a0e-2f6a7f3d1c11';
    const f = sb.file('ns.yaml', `Kind: Namespace\nID: ${id}\nType: Host\nResources: [{Type: Endpoint, Data: {ID: pod_ep}}]\n`);
    const first = parseHnsJson<Outcome[]>(sb.ok(['apply', '-f', f, '-o', 'json']));
    assert.equal(first[0].Result, 'created');
    assert.equal(first[0].Document.ID.toLowerCase(), id);
    const ep = parseHnsJson<{ HostComputeNamespace?: string }>(sb.ok(['endpoint', 'get', 'pod_ep', '-o', 'json']));
    assert.equal(ep.HostComputeNamespace?.toLowerCase(), id);
    const again = parseHnsJson<Outcome[]>(sb.ok(['apply', '-f', f, '-o', 'json']));
    assert.equal(again[0].Result, 'unchanged');
  });

  it('a namespace with neither Name nor ID (and not HostDefault) is refused naming the field (exit 2)', () => {
    const r = sb.run(['apply', '-f', sb.file('bad.yaml', 'Kind: Namespace\nType: Host\n')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /Name: a namespace needs a Name or an ID/);
  });

  it('list output fed into an empty host recreates networks, endpoints and attachments', () => {
    const all = [
      ...parseHnsJson<unknown[]>(sb.ok(['network', 'list', '-o', 'json'])).map((d) => ({ Kind: 'Network', ...(d as object) })),
      ...parseHnsJson<unknown[]>(sb.ok(['endpoint', 'list', '-o', 'json'])).map((d) => ({ Kind: 'Endpoint', ...(d as object) })),
    ];
    const other = new CliSandbox();
    try {
      const hdOther = parseHnsJson<{ ID: string; Type: string }[]>(other.ok(['namespace', 'list', '-o', 'json'])).find(
        (n) => n.Type === 'HostDefault',
      )!;
      // The endpoints name the first host's namespaces; on this host the HostDefault one has another ID.
      const hdFirst = parseHnsJson<{ ID: string; Type: string }[]>(sb.ok(['namespace', 'list', '-o', 'json'])).find(
        (n) => n.Type === 'HostDefault',
      )!;
      const text = JSON.stringify(all).split(hdFirst.ID).join(hdOther.ID);
      const r = other.run(['apply', '-f', other.file('all.json', text), '-o', 'json']);
      // pod_ep is attached to a namespace that exists only on the first host: refused by name, nothing created.
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /HostComputeNamespace: no namespace with ID "5d1e7c2a/i);
      const withoutPod = JSON.stringify(all.filter((d) => (d as { Name?: string }).Name !== 'pod_ep'))
        .split(hdFirst.ID)
        .join(hdOther.ID);
      const out = parseHnsJson<Outcome[]>(other.ok(['apply', '-f', other.file('some.json', withoutPod), '-o', 'json']));
      assert.deepEqual(
        out.map((o) => `${o.Kind}/${o.Document.Name}:${o.Result}`),
        ['Network/cbr0:created', 'Endpoint/host_ep:created'],
      );
      const ep = parseHnsJson<{ HostComputeNamespace?: string }>(other.ok(['endpoint', 'get', 'host_ep', '-o', 'json']));
      assert.equal(ep.HostComputeNamespace?.toLowerCase(), hdOther.ID.toLowerCase());
    } finally {
      other.cleanup();
    }
  });
});
